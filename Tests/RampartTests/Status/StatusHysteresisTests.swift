import Foundation
import RampartCore
@testable import Status
import Testing

@Suite("Status: hysteresis and probe classification")
struct StatusHysteresisTests {
    @Test func oneSlowOrFailedProbeDoesNotFlapThePage() {
        var state = Hysteresis(confirmations: 2)
        #expect(state.record(.operational) == .operational)
        #expect(state.record(.degradedPerformance) == .operational)
        #expect(state.record(.operational) == .operational)
        #expect(state.record(.majorOutage) == .operational)
        #expect(state.record(.operational) == .operational)
        // Two in a row move it.
        #expect(state.record(.majorOutage) == .operational)
        #expect(state.record(.majorOutage) == .majorOutage)
    }

    @Test func worseningMovesOnlyAsFarAsTheMildestConfirmation() {
        var state = Hysteresis(confirmations: 3, published: .operational)
        state.record(.majorOutage)
        state.record(.partialOutage)
        #expect(state.record(.majorOutage) == .partialOutage)
    }

    @Test func recoveringMovesOnlyAsFarAsTheWorstConfirmation() {
        var state = Hysteresis(confirmations: 2, published: .majorOutage)
        #expect(state.record(.operational) == .majorOutage)
        #expect(state.record(.degradedPerformance) == .degradedPerformance)
        #expect(state.record(.operational) == .degradedPerformance)
        #expect(state.record(.operational) == .operational)
    }

    @Test func mixedResultsAroundThePublishedStatusKeepIt() {
        var state = Hysteresis(confirmations: 2, published: .partialOutage)
        for observed in [ComponentStatus.operational, .majorOutage, .operational, .majorOutage] {
            #expect(state.record(observed) == .partialOutage)
        }
    }

    @Test func theFirstResultIsPublishedAtOnce() {
        var state = Hysteresis(confirmations: 5)
        #expect(state.published == nil)
        #expect(state.record(.majorOutage) == .majorOutage)
    }

    @Test func probeResultsAreClassifiedByAnswerAndLatency() {
        let threshold = Duration.milliseconds(500)
        #expect(ProbeResult(httpStatus: 200, latency: .milliseconds(20), databaseOK: true).status(latencyThreshold: threshold) == .operational)
        #expect(ProbeResult(httpStatus: 200, latency: .milliseconds(500), databaseOK: true).status(latencyThreshold: threshold) == .operational)
        #expect(ProbeResult(httpStatus: 200, latency: .milliseconds(501), databaseOK: true).status(latencyThreshold: threshold) == .degradedPerformance)
        #expect(ProbeResult(httpStatus: 503, latency: .milliseconds(5), databaseOK: false).status(latencyThreshold: threshold) == .partialOutage)
        #expect(ProbeResult(httpStatus: 403, latency: .milliseconds(5), databaseOK: nil).status(latencyThreshold: threshold) == .majorOutage)
        #expect(ProbeResult(httpStatus: nil, latency: .seconds(2), databaseOK: nil).status(latencyThreshold: threshold) == .majorOutage)
    }

    @Test func theRegionDatabaseIsUpWhenAnyServiceReachesIt() {
        let ok = ProbeResult(httpStatus: 200, latency: .zero, databaseOK: true)
        let failing = ProbeResult(httpStatus: 503, latency: .zero, databaseOK: false)
        let silent = ProbeResult(httpStatus: nil, latency: .zero, databaseOK: nil)
        #expect(ProbeResult.databaseStatus(from: [failing, ok, silent]) == .operational)
        #expect(ProbeResult.databaseStatus(from: [failing, failing]) == .majorOutage)
        #expect(ProbeResult.databaseStatus(from: [silent, silent]) == .majorOutage)
        #expect(ProbeResult.databaseStatus(from: []) == .majorOutage)
    }

    @Test func componentIDsNameAKnownRegionAndKind() {
        let regions = [Region(rawValue: "eu")!, Region(rawValue: "us")!]
        #expect(Component(id: "eu-tickets", regions: regions) == Component(region: regions[0], kind: .tickets))
        #expect(Component(id: "uk-tickets", regions: regions) == nil)
        #expect(Component(id: "eu-mail", regions: regions) == nil)
        #expect(Component(id: "eu", regions: regions) == nil)
        #expect(Component.all(in: regions).count == 12)
    }
}
