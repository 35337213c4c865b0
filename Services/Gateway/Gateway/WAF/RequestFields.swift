import RampartCore

/// Every value of a request the rules can inspect, taken apart once per request: path, query
/// arguments, headers, cookies, and JSON, form or multipart fields of the body.
struct RequestFields {
    /// The values, in request order.
    var fields: [RequestField] = []
    /// The path, percent-decoded once and normalized, for matching routes.
    let routePath: String
    /// `routePath` split into segments, once.
    let routeSegments: [Substring]
    /// Whether a complete body of a parsed type could not be parsed.
    var bodyMalformed = false
    /// The part (`query`, `form`, `cookies`) that held more than ``maximumPairs`` fields; they are
    /// not taken apart beyond that (rule `too_many_fields` refuses the request instead).
    var overflowed: String?
    /// Fields taken apart per query, form body or `Cookie` header.
    static let maximumPairs = 1_000

    /// Takes `request` apart; fields named in a rich-text route become `richText` targets.
    init(_ request: InspectedRequest, richText: [WAFRuleSet.RichTextRoute], maximumValueBytes: Int) {
        let rawPath = Array(request.rawPath.utf8)
        let decodedPath = URLDecoding.decode(rawPath, plusAsSpace: false) ?? rawPath
        routePath = String(decoding: PathNormalization.normalize(decodedPath) ?? decodedPath, as: UTF8.self)
        let segments = routePath.split(separator: "/", omittingEmptySubsequences: true)
        routeSegments = segments
        let richFields = richText.filter { $0.route.matches(segments: segments) }.reduce(into: Set<String>()) { $0.formUnion($1.fields) }
        let limit = maximumValueBytes

        fields.append(RequestField(kind: .path, name: "", value: Array(rawPath.prefix(limit))))
        if let query = request.rawQuery {
            appendPairs(Array(query.utf8)[...], separator: 0x26, decode: true, name: .queryName, value: .queryValue, rich: [], limit: limit, part: "query")
        }
        for header in request.headers {
            let name = ASCII.lowercased(header.name)
            if name == "cookie" {
                appendPairs(Array(header.value.utf8)[...], separator: 0x3B, decode: false, name: .cookieName, value: .cookieValue, rich: [], limit: limit,
                            part: "cookies")
            }
            fields.append(RequestField(kind: .header, name: name, value: ASCII.bytes(of: header.value, upTo: limit)))
        }
        guard let body = request.body, !body.isEmpty else { return }
        let mediaType = request.mediaType ?? ""
        let declaredJSON = mediaType == "application/json" || mediaType.hasSuffix("+json")
        // A body that looks like JSON under another or no type is read as JSON anyway: an upstream
        // parser that ignores the type must not see fields the WAF did not.
        let sniffedJSON = !declaredJSON && mediaType != "application/x-www-form-urlencoded" && mediaType != "multipart/form-data"
            && body.first(where: { !ASCII.isSpace($0) }).map { $0 == 0x7B || $0 == 0x5B } == true
        if declaredJSON || sniffedJSON {
            var collected: [RequestField] = []
            let valid = JSONFieldScanner.scan(body) { path, value, isName in
                let rich = !isName && !richFields.isEmpty && richFields.contains(RequestField.leaf(of: path, kind: .jsonValue))
                let kind: WAFTargetKind = isName ? .jsonName : (rich ? .richText : .jsonValue)
                Self.append(kind, name: path, value: value, limit: limit, to: &collected)
            }
            fields += collected
            if !valid, !request.bodyIsTruncated, declaredJSON || collected.isEmpty {
                bodyMalformed = true
                // What an upstream parser makes of it is unknown: inspect it whole.
                Self.append(.jsonValue, name: "(body)", value: body, limit: limit, to: &fields)
            }
        } else if mediaType == "application/x-www-form-urlencoded" {
            appendPairs(body, separator: 0x26, decode: true, name: .formName, value: .formValue, rich: richFields, limit: limit, part: "form")
        } else if mediaType == "multipart/form-data" {
            // Tickets parses forms with the same strict parser: a body it would refuse, or read
            // otherwise, is malformed here too, cut off (a large upload's head) or not.
            guard let boundary = request.header("content-type").flatMap(MultipartBody.boundary(contentType:)),
                  let multipart = MultipartBody(body, boundary: boundary, partial: request.bodyIsTruncated) else {
                bodyMalformed = true
                return
            }
            for part in multipart.parts {
                fields.append(RequestField(kind: .multipartName, name: part.name, value: Array(part.name.utf8)))
                if let filename = part.filename {
                    fields.append(RequestField(kind: .multipartFilename, name: part.name, value: Array(filename.utf8)))
                } else {
                    let value = body.dropFirst(part.content.lowerBound).prefix(part.content.count)
                    Self.append(richFields.contains(part.name) ? .richText : .formValue, name: part.name, value: value, limit: limit, to: &fields)
                }
            }
        }
    }

    /// `name=value` pairs separated by `separator`, percent-decoded once (`+` as space) when
    /// `decode`; at most ``maximumPairs`` of them, and `part` is ``overflowed`` when there are more.
    private mutating func appendPairs(
        _ bytes: ArraySlice<UInt8>, separator: UInt8, decode: Bool, name nameKind: WAFTargetKind, value valueKind: WAFTargetKind,
        rich: Set<String>, limit: Int, part: String
    ) {
        let pairs = bytes.split(separator: separator, maxSplits: Self.maximumPairs, omittingEmptySubsequences: true)
        if pairs.count > Self.maximumPairs { overflowed = part }
        for pair in pairs.prefix(Self.maximumPairs) {
            var pair = pair
            while let first = pair.first, first == 0x20 { pair = pair.dropFirst() }
            let equals = pair.firstIndex(of: 0x3D)
            let rawName = pair[..<(equals ?? pair.endIndex)]
            let rawValue = equals.map { pair[($0 + 1)...] } ?? []
            let name = decode ? (URLDecoding.decode(rawName, plusAsSpace: true) ?? Array(rawName)) : Array(rawName)
            let value = decode ? (URLDecoding.decode(rawValue, plusAsSpace: true) ?? Array(rawValue)) : Array(rawValue)
            let nameText = String(decoding: name, as: UTF8.self)
            if !name.isEmpty { fields.append(RequestField(kind: nameKind, name: nameText, value: Array(name.prefix(limit)))) }
            let kind: WAFTargetKind = !rich.isEmpty && rich.contains(nameText) ? .richText : valueKind
            Self.append(kind, name: nameText, value: value, limit: limit, to: &fields)
        }
    }

    /// How much consecutive pieces of a long value overlap: more than any attack the rules look
    /// for needs, so none falls between two pieces unseen.
    static func overlap(limit: Int) -> Int { min(4096, limit / 4) }

    /// Appends `value` as one field, or, when it is longer than `limit`, as overlapping pieces of
    /// `limit` bytes that cover all of it: every byte of a value is inspected, and no operator
    /// runs over more than `limit` bytes at once. Rich text stays whole (its one check is a
    /// linear HTML scan, and a tag padded past the overlap would otherwise fall in two pieces).
    static func append(_ kind: WAFTargetKind, name: String, value: [UInt8], limit: Int, to fields: inout [RequestField]) {
        // A value within the limit is the field as it is (no copy).
        guard value.count > limit, kind != .richText else {
            fields.append(RequestField(kind: kind, name: name, value: value))
            return
        }
        append(kind, name: name, value: value[...], limit: limit, to: &fields)
    }

    /// ``append(_:name:value:limit:to:)`` for a part of a larger buffer (a body, a multipart part).
    static func append(_ kind: WAFTargetKind, name: String, value: ArraySlice<UInt8>, limit: Int, to fields: inout [RequestField]) {
        guard value.count > limit, kind != .richText else {
            fields.append(RequestField(kind: kind, name: name, value: Array(value)))
            return
        }
        let step = limit - overlap(limit: limit)
        var start = value.startIndex
        while true {
            let end = min(start + limit, value.endIndex)
            fields.append(RequestField(kind: kind, name: name, value: Array(value[start..<end])))
            if end == value.endIndex { break }
            start += step
        }
    }
}
