/// What the protocol checks need of a request's headers, gathered in one pass.
struct HeaderSummary {
    /// Every `Content-Length` value, in order.
    var contentLengths: [String] = []
    /// Every `Transfer-Encoding` value, in order.
    var transferEncodings: [String] = []
    /// The first header whose name is not a token.
    var invalidName: String?
    /// The first header whose value holds a control character.
    var invalidValue: (name: String, value: String)?
    /// The first header continued on a new line or starting with whitespace.
    var folded: (name: String, value: String)?

    init(_ headers: [(name: String, value: String)]) {
        for header in headers {
            var name = header.name
            var value = header.value
            if name.utf8.count == 14, name.caseInsensitiveEquals("content-length") { contentLengths.append(value) }
            if name.utf8.count == 17, name.caseInsensitiveEquals("transfer-encoding") { transferEncodings.append(value) }
            if invalidName == nil, name.withUTF8({ $0.isEmpty || !$0.allSatisfy(ProtocolCheck.isTokenByte) }) { invalidName = header.name }
            guard folded == nil || invalidValue == nil else { continue }
            // The value's bytes in place (a header's UTF-8 view, read byte by byte, costs several
            // times as much on the hot path).
            let (isFolded, isInvalid) = value.withUTF8 { bytes -> (Bool, Bool) in
                var previous: UInt8 = 0x0A
                var isFolded = false
                var isInvalid = false
                for byte in bytes {
                    if previous == 0x0A, byte == 0x20 || byte == 0x09 { isFolded = true }
                    if (byte < 0x20 && byte != 0x09) || byte == 0x7F { isInvalid = true }
                    previous = byte
                }
                return (isFolded, isInvalid)
            }
            if isFolded, folded == nil { folded = header }
            if isInvalid, invalidValue == nil { invalidValue = header }
        }
    }
}
