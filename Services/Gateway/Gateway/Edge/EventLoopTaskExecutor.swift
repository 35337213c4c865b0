import NIOCore

/// One event loop as a task executor: a task that prefers it runs each of its jobs on the loop's
/// thread, where the connection's channel handlers run, and stays there across its awaits.
///
/// NIO's loops, made Swift's global executor, run a job as the loop's *serial* executor. A
/// nonisolated async function must run on the generic executor (SE-0338), which a serial executor
/// that is not an actor cannot hand its thread to, so each call of one re-enqueued the task on
/// the loop: about 23 trips through the loop's queue per proxied GET, besides the task's start and
/// the upstream's answer (docs/benchmarks.md: cheap trips on one thread, as measured).
/// Run with this executor as its preference, a job runs as the generic executor on the loop, and
/// such calls continue in place (SE-0417); only real waits (a future, a body piece) come back
/// through the queue.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        // `self` is held until the job ran: a task's executor must outlive its queued jobs.
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
