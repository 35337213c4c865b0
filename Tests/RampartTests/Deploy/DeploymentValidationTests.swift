import Foundation
import RampartStorage
import Testing

/// The deployment artefacts pass their validators (Deploy/check/validate-deployment.sh): the
/// Kubernetes overlays build, match the schemas and pass checkov; the Containerfile passes
/// checkov; the systemd units pass systemd-analyze verify; the nftables rules parse. And the
/// check is not a formality: a copy of Deploy/ with one hardening setting removed fails it.
@Suite("Deployment validation", .serialized)
struct DeploymentValidationTests {
    func scratch() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("rampart-validate-\(UUID().uuidString)").path
    }

    @Test func everyArtefactPassesItsValidator() async throws {
        let result = try await Subprocess(DeployTree.path("check/validate-deployment.sh"), [ServiceProcessTests.binDirectory.path, scratch()]).run()
        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
        for line in ["overlay us builds", "overlay eu builds", "overlay uk builds", "Containerfile passes checkov",
                     "8 systemd units pass systemd-analyze verify", "nftables rules parse", "all deployment checks passed"] {
            #expect(result.output.contains(line), "\(line)")
        }
    }

    @Test func aWritableRootFilesystemFailsTheScan() async throws {
        let copy = scratch()
        let copied = try await Subprocess("cp", ["-R", DeployTree.root.path, copy]).run()
        #expect(copied.status == 0)
        let patch = copy + "/kubernetes/base/patches/service-pod.yaml"
        let text = try String(contentsOfFile: patch, encoding: .utf8)
        #expect(text.contains("readOnlyRootFilesystem: true"))
        try text.replacingOccurrences(of: "readOnlyRootFilesystem: true", with: "readOnlyRootFilesystem: false").write(toFile: patch, atomically: true, encoding: .utf8)
        let result = try await Subprocess(copy + "/check/validate-deployment.sh", [ServiceProcessTests.binDirectory.path, scratch()]).run()
        #expect(result.status != 0)
        #expect(result.errorOutput.contains("overlay") && result.errorOutput.contains("fails checkov"))
        #expect(result.errorOutput.contains("CKV_K8S_22"))
    }
}
