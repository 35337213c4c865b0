import Foundation
import RampartStorage
import Testing

/// Deploy/check/netns-proof.sh: three hosts in network namespaces, the real rampart-gateway on
/// one, the rendered nftables rules loaded there. An allowed caller's host gets its mutual-TLS
/// answer; a caller the allow-list does not name is dropped at the network layer, with or
/// without a certificate the application would accept.
@Suite("Network namespaces", .serialized)
struct NetworkNamespaceTests {
    @Test func renderedRulesDropWhatTheAllowListDoesNotName() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-netns-\(UUID().uuidString)").path
        let result = try await Subprocess(DeployTree.path("check/netns-proof.sh"), [ServiceProcessTests.binDirectory.path, scratch]).run()
        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
        for line in [
            "without rules, tickets host reaches the gateway's port; the application answers 403",
            "with rules, status host -> gateway /healthz over mutual TLS: 200",
            "with rules, tickets host -> gateway raw TCP connect: no answer (dropped)",
            "with rules, tickets host with status's certificate: no answer (dropped)",
            "proof passed",
        ] {
            #expect(result.output.contains(line), "\(line)")
        }
        // Nothing of this run is left behind.
        let run = try #require(result.output.split(separator: "\n").first { $0.hasPrefix("netns: run ") }).dropFirst("netns: run ".count)
        let namespaces = try await Subprocess("ip", ["netns", "list"]).run()
        #expect(!namespaces.output.contains(run + "-"))
    }

    /// The proof is not a formality: with one extra accept (tickets → gateway) it fails.
    @Test func aLooserRulesetFailsTheProof() async throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-netns-deploy-\(UUID().uuidString)").path
        #expect(try await Subprocess("cp", ["-R", DeployTree.root.path, copy]).run().status == 0)
        let rules = copy + "/systemd/nftables/rampart.nft"
        let text = try String(contentsOfFile: rules, encoding: .utf8)
        let loosened = text.replacingOccurrences(of: "\t\t# gateway (9100)\n", with: "\t\t# gateway (9100)\n\t\ttcp dport 9100 ip saddr @tickets accept\n")
        #expect(loosened != text)
        try loosened.write(toFile: rules, atomically: true, encoding: .utf8)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-netns-\(UUID().uuidString)").path
        let result = try await Subprocess(copy + "/check/netns-proof.sh", [ServiceProcessTests.binDirectory.path, scratch]).run()
        #expect(result.status != 0)
        #expect(result.errorOutput.contains("FAIL: tickets host connected to the gateway's internal port"))
    }
}
