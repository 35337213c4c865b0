/// The rule set's transformation chains as one tree of steps. Most chains begin alike
/// (`url_decode_multi, nfkc, remove_nulls, lowercase`, then a step or two of their own), so a
/// field's value goes through each shared step once per request rather than once per chain.
struct TransformationSteps: Sendable {
    /// One transformation, applied to what its parent step gave (the field's value for a first step).
    struct Step: Sendable {
        let transformation: WAFTransformation
        let parent: Int?
    }

    let steps: [Step]
    /// Per chain (by ``WAFRule/chain``), its last step; nil for an empty chain (the value as it is).
    let ends: [Int?]

    init(_ chains: [[WAFTransformation]]) {
        var steps: [Step] = []
        var stepOfPrefix: [[WAFTransformation]: Int] = [:]
        var ends: [Int?] = []
        for chain in chains {
            var parent: Int?
            for (position, transformation) in chain.enumerated() {
                let prefix = Array(chain.prefix(position + 1))
                if let known = stepOfPrefix[prefix] {
                    parent = known
                    continue
                }
                steps.append(Step(transformation: transformation, parent: parent))
                parent = steps.count - 1
                stepOfPrefix[prefix] = parent
            }
            ends.append(parent)
        }
        self.steps = steps
        self.ends = ends
    }

    /// `input` through chain `chain`. `results` holds one slot per step for the field being
    /// inspected (all nil for a new field): a step already run is not run again.
    func value(ofChain chain: Int, input: [UInt8], results: inout [[UInt8]?], memo: inout NormalizationMemo) -> [UInt8] {
        guard let end = ends[chain] else { return input }
        return value(ofStep: end, input: input, results: &results, memo: &memo)
    }

    private func value(ofStep step: Int, input: [UInt8], results: inout [[UInt8]?], memo: inout NormalizationMemo) -> [UInt8] {
        if let done = results[step] { return done }
        let current = steps[step]
        let before = current.parent.map { value(ofStep: $0, input: input, results: &results, memo: &memo) } ?? input
        // A transformation that changes nothing gives nil: the value before it goes on.
        let after = (current.transformation == .unicodeNormalize ? memo.normalize(before) : current.transformation.apply(before)) ?? before
        results[step] = after
        return after
    }
}
