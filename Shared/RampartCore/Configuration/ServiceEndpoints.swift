import Foundation

/// The internal URL of every service instance of some regions, read from an `endpoints.json`
/// (`{"regions": {"eu": {"identity": "https://…", …}}}`, as `rampartctl local init` writes it).
public enum ServiceEndpoints {
    private struct Document: Decodable {
        var regions: [String: [String: String]]
    }

    /// The instances of `regions`; a region or service missing, or a URL that is not https, is an
    /// error naming `key`, the configuration key that pointed at the file.
    public static func load(atPath path: String, regions: [Region], key: String) throws -> [Region: [ServiceName: String]] {
        guard let data = FileManager.default.contents(atPath: path), let document = try? JSONDecoder().decode(Document.self, from: data) else {
            throw ConfigError(key: key, reason: "is not an endpoints.json document")
        }
        var result: [Region: [ServiceName: String]] = [:]
        for region in regions {
            guard let services = document.regions[region.rawValue] else { throw ConfigError(key: key, reason: "lists no instances of region \(region)") }
            var urls: [ServiceName: String] = [:]
            for service in ServiceName.allCases {
                guard var url = services[service.rawValue], url.hasPrefix("https://") else {
                    throw ConfigError(key: key, reason: "has no https URL of \(service) in region \(region)")
                }
                while url.hasSuffix("/") { url.removeLast() }
                urls[service] = url
            }
            result[region] = urls
        }
        return result
    }
}
