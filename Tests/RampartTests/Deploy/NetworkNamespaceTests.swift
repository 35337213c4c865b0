import Foundation
import RampartStorage
import Testing

/// Deploy/check/netns-proof.sh: three hosts in network namespaces, the real rampart-gateway on
/// one, the rendered nftables rules loaded there. An allowed caller's host gets its mutual-TLS
/// answer; a caller the allow-list does not name is dropped at the network layer, with or
/// without a certificate the application would accept.
@Suite("Network namespaces")
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
        // Nothing is left behind: no namespace of this run (or any run) remains.
        let namespaces = try await Subprocess("ip", ["netns", "list"]).run()
        #expect(!namespaces.output.split(separator: "\n").contains { $0.hasPrefix("rp") && $0.contains("-gw") })
    }
}
