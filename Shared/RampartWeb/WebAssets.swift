import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import RampartCore

/// The product's one stylesheet and one script (`Assets/` of this library), served by every
/// service that renders pages at `/assets/rampart.css` and `/assets/rampart.js`. Pages link them
/// with `?v=<content hash>`: that URL is cached for a year (a new build is a new URL); the bare
/// path is revalidated with its `ETag`.
public struct WebAssets: Sendable {
    /// One served file.
    public struct Asset: Sendable {
        public let path: String
        let contentType: String
        let bytes: [UInt8]
        /// The first 16 hex digits of the SHA-256 of the bytes.
        public let version: String

        /// The URL pages link: the path with the content hash.
        public var url: String { "\(path)?v=\(version)" }

        init(path: String, contentType: String, bytes: [UInt8]) {
            self.path = path
            self.contentType = contentType
            self.bytes = bytes
            version = String(Hex.encode(SHA256.hash(data: bytes)).prefix(16))
        }
    }

    public let stylesheet: Asset
    public let script: Asset

    /// Reads both files from the library's resources; a missing one is a broken build.
    public init() throws {
        func load(_ name: String, _ ext: String) throws -> [UInt8] {
            guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Assets") else {
                throw WebKitError.missingResource("Assets/\(name).\(ext)")
            }
            return Array(try Data(contentsOf: url))
        }
        stylesheet = Asset(path: "/assets/rampart.css", contentType: "text/css; charset=utf-8", bytes: try load("rampart", "css"))
        script = Asset(path: "/assets/rampart.js", contentType: "text/javascript; charset=utf-8", bytes: try load("rampart", "js"))
    }

    /// `GET /assets/rampart.css` and `GET /assets/rampart.js` on `router` (no principal needed).
    public func register<Context: RequestContext>(on router: Router<Context>) {
        for asset in [stylesheet, script] {
            router.get(RouterPath(asset.path)) { request, _ -> Response in
                Self.response(asset, request: request)
            }
        }
    }

    static func response(_ asset: Asset, request: Request) -> Response {
        let etag = "\"\(asset.version)\""
        var headers: HTTPFields = [
            .eTag: etag,
            .contentType: asset.contentType,
            // Versioned URLs never change; the bare path must be revalidated.
            .cacheControl: request.uri.queryParameters["v"].map { String($0) } == asset.version
                ? "public, max-age=31536000, immutable" : "no-cache",
        ]
        headers[.xContentTypeOptions] = "nosniff"
        if request.headers[.ifNoneMatch] == etag {
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }
}

/// Why the kit could not start.
public enum WebKitError: Error, CustomStringConvertible {
    case missingResource(String)
    case template(String)

    public var description: String {
        switch self {
        case .missingResource(let name): "the web kit's resource \(name) is missing from the build"
        case .template(let name): "the template \(name) does not parse"
        }
    }
}

/// Header names HTTPTypes does not define (literal, valid names: the unwrap cannot fail).
extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
