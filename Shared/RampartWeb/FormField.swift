/// One labelled form control as the `field` partial renders it: its label, what the user
/// typed (kept after an error), a hint and a field-level error tied to the control with
/// `aria-describedby` and `aria-invalid`. Flat stored values, because templates read them by name.
public struct FormField: Sendable {
    /// An option of a select.
    public struct Option: Sendable {
        public let value: String
        public let label: String
        public let selected: Bool

        public init(_ value: String, _ label: String, selected: Bool) {
            self.value = value
            self.label = label
            self.selected = selected
        }
    }

    /// What kind of control.
    public enum Control: Sendable {
        case input(type: String)
        case textarea(rows: Int)
        case select([Option])
    }

    public let id: String
    public let name: String
    public let label: String
    public let value: String
    public let hint: String
    public let hasHint: Bool
    public let error: String
    public let hasError: Bool
    public let required: Bool
    public let autofocus: Bool
    public let autocomplete: String
    public let hasAutocomplete: Bool
    public let inputMode: String
    public let hasInputMode: Bool
    public let describedBy: String
    public let hasDescription: Bool
    public let isInput: Bool
    public let type: String
    public let isTextarea: Bool
    public let rows: Int
    public let isSelect: Bool
    public let options: [Option]

    /// A control named `name` (its id too, unless `id` is given). A password control never
    /// shows a value back, whatever is passed.
    public init(_ name: String, label: String, control: Control = .input(type: "text"), value: String? = nil, error: String? = nil,
                hint: String? = nil, required: Bool = false, autofocus: Bool = false, autocomplete: String? = nil,
                inputMode: String? = nil, id: String? = nil) {
        let id = id ?? name
        self.id = id
        self.name = name
        self.label = label
        self.hint = hint ?? ""
        hasHint = hint != nil
        self.error = error ?? ""
        hasError = error != nil
        self.required = required
        self.autofocus = autofocus
        self.autocomplete = autocomplete ?? ""
        hasAutocomplete = autocomplete != nil
        self.inputMode = inputMode ?? ""
        hasInputMode = inputMode != nil
        describedBy = [hint.map { _ in "\(id)-hint" }, error.map { _ in "\(id)-error" }].compactMap { $0 }.joined(separator: " ")
        hasDescription = hint != nil || error != nil
        switch control {
        case .input(let type):
            (isInput, self.type, isTextarea, rows, isSelect, options) = (true, type, false, 0, false, [])
        case .textarea(let rows):
            (isInput, type, isTextarea, self.rows, isSelect, options) = (false, "", true, rows, false, [])
        case .select(let options):
            (isInput, type, isTextarea, rows, isSelect, self.options) = (false, "", false, 0, true, options)
        }
        if case .input(type: "password") = control {
            self.value = ""
        } else {
            self.value = value ?? ""
        }
    }
}
