import Foundation
import RampartStorage
import Testing

/// The operator scripts (Deploy/scripts): each refuses a cluster or host of another region and
/// states its plan; --dry-run stops there. A stand-in kubectl answers only the question the
/// region guard asks (the namespace's region annotation) and fails loudly on any other call, so
/// a dry run that touched the cluster would fail here. Nothing in these tests reaches a cluster.
@Suite("Operator scripts")
struct OperatorScriptTests {
    /// A scratch folder with the stand-in kubectl, a work directory holding a CA certificate, and
    /// a systemd host's configuration naming its region.
    struct Scratch {
        let directory: URL
        var kubectl: String { directory.appendingPathComponent("kubectl").path }
        var workDir: String { directory.appendingPathComponent("work").path }
        var etc: String { directory.appendingPathComponent("etc").path }

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-scripts-\(UUID().uuidString)")
            try FileManager.default.createDirectory(atPath: directory.appendingPathComponent("work/pki").path, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: directory.appendingPathComponent("etc").path, withIntermediateDirectories: true)
            try "stand-in\n".write(toFile: directory.appendingPathComponent("work/pki/ca.crt").path, atomically: true, encoding: .utf8)
            try "RAMPART_REGION=us\n".write(toFile: directory.appendingPathComponent("etc/identity.env").path, atomically: true, encoding: .utf8)
            try """
            #!/bin/sh
            # Stand-in for kubectl: the namespace's region annotation (CLUSTER_REGION), nothing else.
            case "$*" in
                *"get namespace rampart -o jsonpath="*) printf '%s' "$CLUSTER_REGION"; [ -n "$CLUSTER_REGION" ] ;;
                *) echo "unexpected kubectl call: $*" >&2; exit 99 ;;
            esac
            """.write(toFile: kubectl, atomically: true, encoding: .utf8)
            #expect(chmod(kubectl, 0o755) == 0)
        }

        /// Runs `script` (under Deploy/scripts) against a cluster serving `clusterRegion` ("" for none).
        func run(_ script: String, _ arguments: [String], clusterRegion: String) async throws -> Subprocess.Result {
            try await Subprocess("/usr/bin/env", [
                "KUBECTL=\(kubectl)", "CLUSTER_REGION=\(clusterRegion)", "RAMPART_ETC=\(etc)",
                DeployTree.path("scripts/\(script)"),
            ] + arguments).run()
        }
    }

    static let incident = ["--incident", "2026-11-29-leak", "--title", "Investigating", "--detected-at", "2026-11-29T13:05:00Z"]

    /// Every script that acts on a region's cluster, with the arguments it needs besides --region.
    static let clusterScripts: [(script: String, arguments: [String])] = [
        ("provision-region.sh", ["--work-dir", "WORK", "--internal-domain", "internal.example.com", "--public-cert", "e.crt", "--public-key", "e.key", "--backup-credentials", "b.env"]),
        ("rotate-certificates.sh", ["--work-dir", "WORK"]),
        ("rotate-certificates.sh", ["--work-dir", "WORK", "--new-ca"]),
        ("restore-drill.sh", ["--target-time", "2026-11-28T23:00:00Z"]),
        ("security-incident.sh", ["--work-dir", "WORK", "--stop", "tickets"] + incident),
        ("cancel-tenant.sh", ["--work-dir", "WORK", "--tenant", "acme"]),
        ("rotate-kek-kubernetes.sh", ["--rotation", "2026-q4"]),
        ("replay-ledger-kubernetes.sh", []),
    ]

    func arguments(_ arguments: [String], _ scratch: Scratch) -> [String] {
        arguments.map { $0 == "WORK" ? scratch.workDir : $0 }
    }

    @Test(arguments: clusterScripts.indices)
    func refusesAClusterOfAnotherRegion(_ index: Int) async throws {
        let scratch = try Scratch()
        let (script, extra) = Self.clusterScripts[index]
        let result = try await scratch.run(script, ["--region", "eu", "--dry-run"] + arguments(extra, scratch), clusterRegion: "us")
        #expect(result.status != 0)
        #expect(result.errorOutput.contains("refusing: cluster serves region us, not eu"), "\(script): \(result.errorOutput)")
        #expect(!result.output.contains("plan for region"))
    }

    @Test(arguments: clusterScripts.indices)
    func dryRunPrintsThePlanAndTouchesNothing(_ index: Int) async throws {
        let scratch = try Scratch()
        let (script, extra) = Self.clusterScripts[index]
        let result = try await scratch.run(script, ["--region", "eu", "--dry-run"] + arguments(extra, scratch), clusterRegion: "eu")
        #expect(result.status == 0, "\(script): \(result.errorOutput)")
        #expect(result.output.contains("plan for region eu"))
        #expect(result.output.contains("  1. "))
        #expect(result.output.hasSuffix("dry run, nothing changed\n"))
        #expect(!result.errorOutput.contains("unexpected kubectl call"))
    }

    @Test func onlyProvisioningAcceptsAClusterWithoutRampart() async throws {
        let scratch = try Scratch()
        let provision = try await scratch.run("provision-region.sh", ["--region", "eu", "--dry-run"] + arguments(Self.clusterScripts[0].arguments, scratch), clusterRegion: "")
        #expect(provision.status == 0, "\(provision.errorOutput)")
        #expect(provision.output.contains("has no Rampart yet; it will serve region eu"))
        let rotate = try await scratch.run("rotate-certificates.sh", ["--region", "eu", "--dry-run", "--work-dir", scratch.workDir], clusterRegion: "")
        #expect(rotate.status != 0)
        #expect(rotate.errorOutput.contains("refusing: cluster runs no Rampart region (expected eu)"))
    }

    @Test func incidentPlanStatesTheNotificationDeadline() async throws {
        let scratch = try Scratch()
        let result = try await scratch.run("security-incident.sh", ["--region", "eu", "--dry-run", "--work-dir", scratch.workDir, "--stop", "gateway"] + Self.incident, clusterRegion: "eu")
        #expect(result.output.contains("Contain: stop gateway"))
        #expect(result.output.contains("authority due 2026-12-02T13:05Z"))
        let unknown = try await scratch.run("security-incident.sh", ["--region", "eu", "--dry-run", "--work-dir", scratch.workDir, "--stop", "mailer"] + Self.incident, clusterRegion: "eu")
        #expect(unknown.status != 0 && unknown.errorOutput.contains("unknown service mailer"))
    }

    @Test func aPurgeIsPlannedAfterTheCancellationAndImmediatelyOnlyWithPurge() async throws {
        let scratch = try Scratch()
        let planned = try await scratch.run("cancel-tenant.sh", ["--region", "eu", "--dry-run", "--work-dir", scratch.workDir, "--tenant", "acme", "--purge", "--immediately"],
                                            clusterRegion: "eu")
        #expect(planned.status == 0, "\(planned.errorOutput)")
        #expect(planned.output.contains("Cancel tenant acme in region eu"))
        #expect(planned.output.contains("Purge tenant acme now, without the grace period"))
        let graceful = try await scratch.run("cancel-tenant.sh", ["--region", "eu", "--dry-run", "--work-dir", scratch.workDir, "--tenant", "acme", "--purge"], clusterRegion: "eu")
        #expect(graceful.output.contains("Purge tenant acme if its grace period is over"))
        let loose = try await scratch.run("cancel-tenant.sh", ["--region", "eu", "--dry-run", "--work-dir", scratch.workDir, "--tenant", "acme", "--immediately"], clusterRegion: "eu")
        #expect(loose.status != 0)
        #expect(loose.errorOutput.contains("--immediately goes with --purge"))
    }

    @Test func keyRotationRefusesAHostOfAnotherRegion() async throws {
        let scratch = try Scratch()
        let refused = try await scratch.run("rotate-kek.sh", ["--region", "eu", "--rotation", "2026-q4", "--dry-run"], clusterRegion: "")
        #expect(refused.status != 0)
        #expect(refused.errorOutput.contains("refusing: this host serves region us, not eu"))
        try "{}".write(toFile: scratch.etc + "/kek.json", atomically: true, encoding: .utf8)
        let planned = try await scratch.run("rotate-kek.sh", ["--region", "us", "--rotation", "2026-q4", "--dry-run"], clusterRegion: "")
        #expect(planned.status == 0, "\(planned.errorOutput)")
        #expect(planned.output.contains("Rotate \(scratch.etc)/kek.json and rewrap every data key"))
        #expect(planned.output.hasSuffix("dry run, nothing changed\n"))
    }

    @Test func addingAnExistingRegionRefusesAndANewOneOnlyPlans() async throws {
        let scratch = try Scratch()
        let existing = try await scratch.run("add-region.sh", ["--region", "eu", "--pod-cidr", "10.99.0.0/16", "--dry-run"], clusterRegion: "")
        #expect(existing.status != 0 && existing.errorOutput.contains("refusing: region eu already has an overlay"))
        let clash = try await scratch.run("add-region.sh", ["--region", "ca", "--pod-cidr", "10.20.0.0/16", "--dry-run"], clusterRegion: "")
        #expect(clash.status != 0 && clash.errorOutput.contains("already the pod network of eu"))
        let planned = try await scratch.run("add-region.sh", ["--region", "ca", "--pod-cidr", "10.40.0.0/16", "--dry-run"], clusterRegion: "")
        #expect(planned.status == 0, "\(planned.errorOutput)")
        #expect(planned.output.contains("Create overlays/ca (pod network 10.40.0.0/16, bucket s3://rampart-ca-backups/)"))
        #expect(!FileManager.default.fileExists(atPath: DeployTree.path("kubernetes/overlays/ca")))
    }

    @Test func hostInstallPlansEveryFileItWouldWrite() async throws {
        let scratch = try Scratch()
        let root = scratch.directory.appendingPathComponent("root").path
        let result = try await Subprocess(DeployTree.path("systemd/install.sh"), ["--root", root, "--bin-dir", ServiceProcessTests.binDirectory.path, "--dry-run"]).run()
        #expect(result.status == 0, "\(result.errorOutput)")
        for path in ["/usr/local/bin/rampart-identity", "/etc/systemd/system/rampart@.service", "/usr/share/rampart/nftables/rampart.nft",
                     "/etc/systemd/system/rampart@audit.service.d/keystore.conf", "/etc/sysusers.d/rampart.conf"] {
            #expect(result.output.contains("install   \(path) "), "\(path)")
        }
        #expect(!FileManager.default.fileExists(atPath: root))
    }
}
