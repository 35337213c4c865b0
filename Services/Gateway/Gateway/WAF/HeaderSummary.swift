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
            let name = header.name.utf8
            if name.count == 14, header.name.caseInsensitiveEquals("content-length") { contentLengths.append(header.value) }
            if name.count == 17, header.name.caseInsensitiveEquals("transfer-encoding") { transferEncodings.append(header.value) }
            if invalidName == nil, name.isEmpty || !name.allSatisfy(ProtocolCheck.isTokenByte) { invalidName = header.name }
            var previous: UInt8 = 0
            var first = true
            for byte in header.value.utf8 {
                if first, byte == 0x20 || byte == 0x09, folded == nil { folded = header }
                if previous == 0x0A, byte == 0x20 || byte == 0x09, folded == nil { folded = header }
                if (byte < 0x20 && byte != 0x09) || byte == 0x7F, invalidValue == nil { invalidValue = header }
                previous = byte
                first = false
            }
        }
    }
}
