// `meshdb-consensus-bench --costs`: measures the message constants of the scale simulation's
// NodeCostModel (Sources/Consensus/Simulator/Scale/NodeCostModel.swift) with the real codec and
// authenticators, then checks the whole model against the ordering bench: the replicas' measured
// time per frame minus what the model explains is `stepNanos`.
import Consensus
import Foundation

enum CostBench {
    /// This thread's CPU time: the machine is shared, and wall time would count the time other
    /// processes took from us.
    static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Mean CPU nanoseconds of `body` over `iterations` runs, after a warm-up tenth.
    static func nanos(_ iterations: Int, _ body: () -> Void) -> Double {
        for _ in 0..<max(1, iterations / 10) { body() }
        let start = threadCPUNanoseconds()
        for _ in 0..<iterations { body() }
        return Double(threadCPUNanoseconds() - start) / Double(iterations)
    }

    static func run() {
        // Seven replicas, so that the per-destination cost is the slope from 2 to 6 recipients, both
        // through the multicast path (one recipient takes a cheaper single-MAC path).
        let n = 7
        let identities = (0..<n).map { NodeIdentity.deterministic(seed: 1, principal: .replica($0)) }
        let clientIdentity = NodeIdentity.deterministic(seed: 1, principal: .client(1000))
        let directory = KeyDirectory(replicas: identities.map(\.publicIdentity), clients: [1000: clientIdentity.publicIdentity])
        let codec = MessageCodec(replicaCount: n)
        let auth = (0..<n).map { Authenticator(me: .replica($0), identity: identities[$0], directory: directory, codec: codec) }
        // Requests carry the authenticator of a group of 4 (one MAC per replica), as in the scale runs.
        let client = Client(id: 1000, configuration: try! GroupConfiguration(replicaCount: 4), identity: clientIdentity,
                            directory: directory)
        let backups: [Principal] = [.replica(1), .replica(2), .replica(3)]
        let operation = [UInt8](repeating: 0x61, count: 100)
        func prePrepare(_ size: Int) -> PrePrepare {
            let batch = (0..<size).map { client.makeRequest(operation: operation, timestamp: UInt64($0 + 1)) }
            return PrePrepare(view: 0, sequence: 1, digest: batchDigest(batch), batch: batch)
        }
        var sink = 0

        let vote = Message.prepare(Vote(view: 0, sequence: 1, digest: .zero, replica: 0))
        let two: [Principal] = [.replica(1), .replica(2)]
        let six: [Principal] = (1...6).map { .replica($0) }
        let seal2 = nanos(200_000) { sink &+= auth[0].seal(vote, to: two).count }
        let seal6 = nanos(200_000) { sink &+= auth[0].seal(vote, to: six).count }
        let destination = (seal6 - seal2) / 4
        let voteFrame = auth[0].seal(vote, to: backups)
        let open = nanos(200_000) { sink &+= (try? auth[1].open(voteFrame)) == nil ? 0 : 1 }

        // Pre-prepares of 1 and 128 requests: the slopes are the per-request costs.
        var sealPP: [Int: Double] = [:]
        var openPP: [Int: Double] = [:]
        for size in [1, 128] {
            let message = Message.prePrepare(prePrepare(size))
            let iterations = 400_000 / size
            sealPP[size] = nanos(iterations) { sink &+= auth[0].seal(message, to: backups).count }
            let frame = auth[0].seal(message, to: backups)
            openPP[size] = nanos(iterations) {
                guard case .prePrepare(let pp)? = try? auth[1].open(frame).message else { return }
                // What receivePrePrepare does per request: the batch digest and each request's MAC.
                sink &+= batchDigest(pp.batch) == pp.digest ? 1 : 0
                for request in pp.batch where auth[1].verifyRequest(request, digest: request.digest) { sink &+= 1 }
            }
        }
        let sealRequest = (sealPP[128]! - sealPP[1]!) / 127
        let requestVerify = (openPP[128]! - openPP[1]!) / 127

        let checkpoint = auth[0].signed(Checkpoint(sequence: 128, stateDigest: .zero, replica: 0))
        let sign = nanos(5_000) { sink &+= auth[0].signed(checkpoint).signature.count }
        let verify = nanos(5_000) { sink &+= auth[1].verify(checkpoint) ? 1 : 0 }

        var model = NodeCostModel.measured
        // Noise on a shared machine can make a slope come out below zero: no cost is negative.
        func ns(_ value: Double) -> UInt64 { UInt64(max(0, value.rounded())) }
        model.frameOpenNanos = ns(open)
        model.requestVerifyNanos = ns(requestVerify)
        model.signatureVerifyNanos = ns(verify)
        model.signNanos = ns(sign)
        model.sealNanos = ns(seal2 - 2 * destination)
        model.sealRequestNanos = ns(sealRequest)
        model.destinationNanos = ns(destination)
        model.stepNanos = 0

        print("NodeCostModel message constants, measured (ns; 100-byte operations with 4 MACs):")
        print(String(format: "  frameOpenNanos       %7.0f  open a PREPARE sealed to 3 replicas", open))
        print(String(format: "  requestVerifyNanos   %7.0f  per request: open + batch digest + verifyRequest, slope 1 -> 128", requestVerify))
        print(String(format: "  signatureVerifyNanos %7.0f  verify a signed checkpoint", verify))
        print(String(format: "  signNanos            %7.0f  sign a checkpoint", sign))
        print(String(format: "  sealNanos            %7.0f  seal a PREPARE to 2 replicas, less two destinations", seal2 - 2 * destination))
        print(String(format: "  sealRequestNanos     %7.0f  per request: seal a pre-prepare, slope 1 -> 128", sealRequest))
        print(String(format: "  destinationNanos     %7.0f  per destination: seal to 6 vs to 2, over 4", destination))

        // The residual: the ordering bench's replica CPU time (its CPU time scaled by the share of
        // wall time spent inside the replicas, as its "replica-only" column) against the model.
        // The residual is fitted as a x frames + b x requests executed (least squares over the three
        // batch sizes): a is stepNanos, b / 4 (each request runs on 4 replicas) requestStepNanos.
        print("  residual of the ordering bench's replica CPU time, by batch size:")
        var runs: [(frames: Double, requests: Double, residual: Double)] = []
        for (batch, clients, target) in [(1, 8, 20_000), (16, 128, 50_000), (128, 1024, 100_000)] {
            var bench = Bench(batch: batch, clientCount: clients, requestsTarget: target)
            bench.modelForResidual = model
            let (seconds, cpuSeconds, _) = bench.run()
            let replicaCPU = cpuSeconds * 1e9 * Double(bench.replicaNanoseconds) / (seconds * 1e9)
            let residual = replicaCPU - Double(bench.modelledNanoseconds)
            runs.append((Double(bench.replicaFrames), Double(bench.completed), residual))
            print(String(format: "    batch %3d: %d frames, %d requests, message costs explain %.0f%% of %.2f replica CPU s",
                         batch, bench.replicaFrames, bench.completed, 100 * Double(bench.modelledNanoseconds) / replicaCPU,
                         replicaCPU / 1e9))
        }
        let ff = runs.reduce(0) { $0 + $1.frames * $1.frames }, fr = runs.reduce(0) { $0 + $1.frames * $1.requests }
        let rr = runs.reduce(0) { $0 + $1.requests * $1.requests }
        let ft = runs.reduce(0) { $0 + $1.frames * $1.residual }, rt = runs.reduce(0) { $0 + $1.requests * $1.residual }
        let determinant = ff * rr - fr * fr
        let perFrame = (ft * rr - fr * rt) / determinant
        let perRequest = (ff * rt - fr * ft) / determinant
        print(String(format: "  stepNanos            %7.0f  residual per replica step (frame handled)", perFrame))
        print(String(format: "  requestStepNanos     %7.0f  residual per request executed, per replica (fit over 4 replicas)", perRequest / 4))
        for (batch, run) in zip([1, 16, 128], runs) {
            let fitted = perFrame * run.frames + perRequest * run.requests
            print(String(format: "    batch %3d: the fit is off by %+.0f%% of the residual", batch, 100 * (fitted - run.residual) / run.residual))
        }
        if sink == 42 { print("") }
    }
}
