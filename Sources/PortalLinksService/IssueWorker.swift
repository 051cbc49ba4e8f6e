import Logging
import NIOCore
import PortalLinks
import PortalLinksCore
import PortalLinksMessages
import PortalLinksWire
import Synchronization

/// One Links.Issue call waiting for the store.
struct IssueJob: Sendable {
    let request: PortalLinks_V1_IssueRequest
    let deadline: NIODeadline?
    let caller: String
    let completion: @Sendable (Result<PortalLinks_V1_IssueResponse, CallFailure>) -> Void
}

/// Issues links off the event loops, one batch at a time: the calls waiting when the store comes free are
/// signed and recorded in one transaction (SQLite has one writer anyway). A call whose deadline has passed
/// when its batch starts gets DEADLINE_EXCEEDED and nothing is issued for it.
final class IssueWorker: Sendable {
    private let queue = Mutex<[IssueJob]>([])
    private let signal: AsyncStream<Void>.Continuation
    private let signals: AsyncStream<Void>
    private let installation: Installation
    private let baseURL: String?
    private let logger: Logger
    static let batchLimit = 256

    init(installation: Installation, baseURL: String?, logger: Logger) {
        (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.installation = installation
        self.baseURL = baseURL
        self.logger = logger
    }

    func submit(_ job: IssueJob) {
        queue.withLock { $0.append(job) }
        signal.yield()
    }

    /// Issues one link in the next batch.
    func issue(_ request: PortalLinks_V1_IssueRequest, deadline: NIODeadline?, caller: String) async throws -> PortalLinks_V1_IssueResponse {
        try await withCheckedThrowingContinuation { continuation in
            submit(IssueJob(request: request, deadline: deadline, caller: caller) { continuation.resume(with: $0) })
        }
    }

    /// Runs until the stream is finished, answering every job it took.
    func run() async {
        for await _ in signals {
            while true {
                let batch = queue.withLock { queue -> [IssueJob] in
                    let taken = Array(queue.prefix(Self.batchLimit))
                    queue.removeFirst(taken.count)
                    return taken
                }
                guard !batch.isEmpty else { break }
                await process(batch)
            }
        }
    }

    func finish() { signal.finish() }

    private func process(_ batch: [IssueJob]) async {
        let now = NIODeadline.now()
        var live: [(IssueJob, PreparedIssue)] = []
        for job in batch {
            if let deadline = job.deadline, deadline < now {
                job.completion(.failure(.deadlinePassed))
                continue
            }
            do { live.append((job, try Self.request(from: job.request))) } catch let error as CallFailure {
                job.completion(.failure(error))
            } catch {
                job.completion(.failure(CallFailure(status: .internal, message: "internal error")))
            }
        }
        // Grouped by caller, so that the ledger and the audit log name who issued each link.
        for (caller, group) in Dictionary(grouping: live, by: { $0.0.caller }) {
            do {
                let results = try await installation.acting(as: "caller:\(caller)").issue(group.map(\.1.request))
                for ((job, request), result) in zip(group, results) {
                    job.completion(result.map { response(for: $0, base: request.base ?? baseURL) }.mapError(CallFailure.from))
                }
            } catch {
                // The store's own error, for staff; callers get a generic message.
                logger.error("issuing failed", metadata: ["error": "\(error)"])
                for (job, _) in group { job.completion(.failure(CallFailure.from(error))) }
            }
        }
    }

    /// A request checked and converted, with the base URL its link is to carry.
    private struct PreparedIssue {
        let request: IssueRequest
        let base: String?
    }

    private static func request(from message: PortalLinks_V1_IssueRequest) throws -> PreparedIssue {
        do {
            let client = try ClientID(parsing: message.clientID)
            let name = message.displayName.isEmpty ? nil : message.displayName
            let base = message.baseURL.isEmpty ? nil : message.baseURL
            if let base, !(base.hasPrefix("https://") || base.hasPrefix("http://")) {
                throw PortalLinksError(.invalidInput, "base_url must be an http(s) URL")
            }
            return PreparedIssue(
                request: IssueRequest(clientID: client, displayName: name,
                                      expiresAt: message.expiresAt == 0 ? nil : message.expiresAt, sentTo: message.sentTo,
                                      maximumAccounts: message.maxAccounts == 0 ? nil : Int(message.maxAccounts)),
                base: base)
        } catch let error as PortalLinksError {
            throw CallFailure.from(error)
        }
    }

    private func response(for link: IssuedLink, base: String?) -> PortalLinks_V1_IssueResponse {
        var response = PortalLinks_V1_IssueResponse()
        response.token = link.token
        if let base { response.url = base + (base.contains("?") ? "&" : "?") + "token=" + link.token }
        response.linkID = link.linkID.description
        response.expiresAt = link.claims.expiresAt
        response.issuedAt = link.claims.issuedAt
        response.keyID = link.claims.keyID.description
        return response
    }
}
