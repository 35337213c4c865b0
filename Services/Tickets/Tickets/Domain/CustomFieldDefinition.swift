import Foundation

/// A tenant's custom ticket field: its key, type and (for choices) options.
struct CustomFieldDefinition: Codable, Sendable {
    enum FieldType: String, Codable, Sendable, CaseIterable {
        case text
        case number
        case date
        case singleChoice = "single_choice"
        case multipleChoice = "multiple_choice"
    }

    var id: UUID
    var key: String
    var label: String
    var type: FieldType
    var options: [String]
    var required: Bool

    enum CodingKeys: String, CodingKey {
        case id, key, label, type, options, required
    }

    /// Text values are limited to this many characters.
    static let maximumTextLength = 2000

    /// `value` checked against the type; the message says what is wrong. Text is card-redacted
    /// by the caller before it is stored.
    func validate(_ value: JSONValue) -> String? {
        switch (type, value) {
        case (_, .null): return required ? "This field is required." : nil
        case (.text, .string(let text)):
            return text.count <= Self.maximumTextLength ? nil : "At most \(Self.maximumTextLength) characters."
        case (.number, .number(let number)):
            return number.isFinite ? nil : "Must be a finite number."
        case (.date, .string(let text)):
            return Self.isDate(text) ? nil : "Must be a date as YYYY-MM-DD."
        case (.singleChoice, .string(let choice)):
            return options.contains(choice) ? nil : "Must be one of: \(options.joined(separator: ", "))."
        case (.multipleChoice, .array(let items)):
            let choices = items.compactMap { if case .string(let choice) = $0 { choice } else { nil } }
            guard choices.count == items.count, Set(choices).count == choices.count, choices.allSatisfy(options.contains) else {
                return "Must be a list of distinct options from: \(options.joined(separator: ", "))."
            }
            return nil
        default:
            return "Must be a \(type.rawValue.replacingOccurrences(of: "_", with: " ")) value."
        }
    }

    static func isDate(_ text: String) -> Bool {
        guard text.count == 10, text.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil else { return false }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.isLenient = false
        return formatter.date(from: text) != nil
    }
}
