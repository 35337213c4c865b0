import Foundation
@testable import Gateway

/// The WAF test corpora in `Fixtures/waf`: realistic helpdesk requests that must pass, and attack
/// samples that must be blocked, each turned into the `InspectedRequest` the edge would build.
enum WafCorpus {
    /// One sample: a name for failure messages, its expected category (attacks) and the request.
    struct Sample {
        let name: String
        let category: String?
        let request: InspectedRequest
    }

    static var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/waf")
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The shipped rules and a policy at `paranoia`.
    static func shippedWAF(paranoia: Int = 1, tenants: [String: WAFPolicy.Settings] = [:]) throws -> WAF {
        let rules = try WAFRuleSet(contentsOf: repositoryRoot.appendingPathComponent("Deploy/waf/rules.yaml").path)
        return WAF(ruleSet: rules, policy: WAFPolicy(defaults: .init(paranoia: paranoia), tenants: tenants))
    }

    /// Every benign sample (all files in `benign/`).
    static func benign() throws -> [Sample] {
        try samples(in: "benign")
    }

    /// Every attack sample (all files in `attacks/`).
    static func attacks() throws -> [Sample] {
        try samples(in: "attacks")
    }

    private static func samples(in folder: String) throws -> [Sample] {
        let directory = fixtures.appendingPathComponent(folder)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        return try files.flatMap { file -> [Sample] in
            let data = try Data(contentsOf: directory.appendingPathComponent(file))
            guard let entries = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return [] }
            return try entries.map { try sample($0, file: file) }
        }
    }

    private static func sample(_ entry: [String: Any], file: String) throws -> Sample {
        let category = entry["category"] as? String
        let name = (entry["name"] as? String) ?? (entry["payload"] as? String) ?? "?"
        if let place = entry["in"] as? String, place != "request", let payload = entry["payload"] as? String {
            return Sample(name: "\(file): \(category ?? "") in \(place): \(name)", category: category,
                          request: try attackRequest(place: place, payload: payload, rawJSON: entry["raw_json"] as? Bool ?? false))
        }
        var headers = ((entry["headers"] as? [[String]]) ?? []).map { (name: $0[0], value: $0[1]) }
        var body: [UInt8]?
        if let json = entry["json"] {
            body = Array(try JSONSerialization.data(withJSONObject: json))
            headers.append(("Content-Type", "application/json"))
        } else if let form = entry["form"] as? String {
            body = Array(form.utf8)
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        } else if let parts = entry["multipart"] as? [[String: String]] {
            body = multipart(parts)
            headers.append(("Content-Type", "multipart/form-data; boundary=\(boundary)"))
        } else if let text = entry["body"] as? String {
            body = Array(text.utf8)
        }
        let request = InspectedRequest(
            method: entry["method"] as? String ?? "GET", rawPath: entry["path"] as? String ?? "/",
            rawQuery: entry["query"] as? String, headers: defaultHeaders + headers, body: body?[...], tenant: "acme")
        return Sample(name: "\(file): \(name)", category: category, request: request)
    }

    static let boundary = "----rampart-test-boundary-7MA4YWxkTrZu0gW"

    static let defaultHeaders: [(name: String, value: String)] = [
        ("Host", "acme.eu.rampart.example"),
        ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"),
        ("Accept", "application/json"),
    ]

    static func multipart(_ parts: [[String: String]]) -> [UInt8] {
        var text = ""
        for part in parts {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part["name"] ?? "")\""
            if let filename = part["filename"] { text += "; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream" }
            text += "\r\n\r\n\(part["value"] ?? "")\r\n"
        }
        return Array((text + "--\(boundary)--\r\n").utf8)
    }

    /// Percent-encodes what a client cannot send raw in a query (spaces, quotes, brackets, `&`, `+`,
    /// `#`, non-ASCII); `%` stays, so pre-encoded payloads keep their encoding.
    static func queryEscaped(_ payload: String) -> String {
        var output = ""
        for byte in payload.utf8 {
            let keep = ASCII.isAlphanumeric(byte) || Array("-._~%!$'()*,;:@/?".utf8).contains(byte)
            output += keep ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }
        return output
    }

    private static func attackRequest(place: String, payload: String, rawJSON: Bool) throws -> InspectedRequest {
        func json(_ path: String, _ field: String) throws -> InspectedRequest {
            let body = rawJSON
                ? Array("{\"\(field)\":\"\(payload)\",\"priority\":\"high\"}".utf8)
                : Array(try JSONSerialization.data(withJSONObject: [field: payload, "priority": "high"]))
            return InspectedRequest(method: "POST", rawPath: path, headers: defaultHeaders + [("Content-Type", "application/json")], body: body[...], tenant: "acme")
        }
        switch place {
        case "query":
            return InspectedRequest(method: "GET", rawPath: "/api/v1/tickets", rawQuery: "q=\(queryEscaped(payload))&page=1", headers: defaultHeaders, tenant: "acme")
        case "query_name":
            return InspectedRequest(method: "GET", rawPath: "/api/v1/tickets", rawQuery: "\(queryEscaped(payload))=1", headers: defaultHeaders, tenant: "acme")
        case "path":
            return InspectedRequest(method: "GET", rawPath: payload, headers: defaultHeaders, tenant: "acme")
        case "json":
            return try json("/api/v1/tickets", "subject")
        case "rich":
            return try json("/api/v1/tickets/9/messages", "body")
        case "form":
            return InspectedRequest(
                method: "POST", rawPath: "/api/v1/tickets", headers: defaultHeaders + [("Content-Type", "application/x-www-form-urlencoded")],
                body: Array("subject=\(queryEscaped(payload))&priority=high".utf8)[...], tenant: "acme")
        case "cookie":
            return InspectedRequest(method: "GET", rawPath: "/api/v1/me", headers: defaultHeaders + [("Cookie", "theme=dark; pref=\(payload)")], tenant: "acme")
        case "multipart_filename":
            return InspectedRequest(
                method: "POST", rawPath: "/api/v1/tickets/9/attachments",
                headers: defaultHeaders + [("Content-Type", "multipart/form-data; boundary=\(boundary)")],
                body: multipart([["name": "file", "filename": payload, "value": "hello"]])[...], tenant: "acme")
        case _ where place.hasPrefix("header:"):
            let name = String(place.dropFirst(7))
            let headers = defaultHeaders.filter { !$0.name.caseInsensitiveEquals(name) } + [(name, payload)]
            return InspectedRequest(method: "GET", rawPath: "/api/v1/tickets", headers: headers, tenant: "acme")
        default:
            throw CorpusError(place: place)
        }
    }

    struct CorpusError: Error {
        let place: String
    }
}
