import Foundation
import PortalLinksCore
import PortalLinksStore

/// One PortalLinks installation: its store, the master key its keys are sealed under, its policy and clock.
/// Staff operations are grouped by concern in extensions (`Installation+Keys.swift`, ...).
public struct Installation: Sendable {
    public let store: any LinkStore
    let masterKey: MasterKey
    public let policy: LinkPolicy
    public let accountPolicy: AccountPolicy
    /// Where password hashes run: inline unless a server gives its own pool.
    public let passwordWork: any PasswordWork
    /// Unix seconds now. Injected so that tests can move time.
    public let clock: @Sendable () -> Int64
    /// Who is acting, for the audit log and the ledger.
    public let actor: String

    public static let homeVariable = "PORTAL_LINKS_HOME"

    public init(store: any LinkStore, masterKey: MasterKey, policy: LinkPolicy = LinkPolicy(),
                accountPolicy: AccountPolicy = AccountPolicy(), passwordWork: any PasswordWork = InlinePasswordWork(),
                actor: String, clock: @escaping @Sendable () -> Int64 = Installation.systemClock) {
        self.store = store
        self.masterKey = masterKey
        self.policy = policy
        self.accountPolicy = accountPolicy
        self.passwordWork = passwordWork
        self.actor = actor
        self.clock = clock
    }

    /// The same installation, with `actor` named in the audit log and the ledger.
    public func acting(as actor: String) -> Installation {
        Installation(store: store, masterKey: masterKey, policy: policy, accountPolicy: accountPolicy,
                     passwordWork: passwordWork, actor: actor, clock: clock)
    }

    /// The same installation with other account rules (tests use cheap hashes and short lockouts).
    public func with(accountPolicy: AccountPolicy) -> Installation {
        Installation(store: store, masterKey: masterKey, policy: policy, accountPolicy: accountPolicy,
                     passwordWork: passwordWork, actor: actor, clock: clock)
    }

    /// The same installation hashing passwords through `passwordWork` (a server's own threads).
    public func with(passwordWork: any PasswordWork) -> Installation {
        Installation(store: store, masterKey: masterKey, policy: policy, accountPolicy: accountPolicy,
                     passwordWork: passwordWork, actor: actor, clock: clock)
    }

    /// The same installation reading time from `clock` (conformance servers pin it to the test vectors' times).
    public func with(clock: @escaping @Sendable () -> Int64) -> Installation {
        Installation(store: store, masterKey: masterKey, policy: policy, accountPolicy: accountPolicy,
                     passwordWork: passwordWork, actor: actor, clock: clock)
    }

    public static let systemClock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }

    /// `explicit` (from `--home`), else `PORTAL_LINKS_HOME`, else `~/.portal-links`.
    public static func homeDirectory(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment[homeVariable], !fromEnvironment.isEmpty { return fromEnvironment }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".portal-links")
    }

    /// Opens the installation whose data is in `store` (which store is the caller's choice: the CLI's default is
    /// the SQLite file in the home). The master key still comes from `PORTAL_LINKS_MASTER_KEY` or the key file in
    /// `home` (created, with `home`, on first use), and must be the one the store's keys are sealed under.
    public static func open(store: any LinkStore, home: String, environment: [String: String], policy: LinkPolicy = LinkPolicy(),
                            actor: String, clock: @escaping @Sendable () -> Int64 = systemClock) async throws -> Installation {
        if environment[MasterKeyLoader.environmentVariable] == nil { try InstallationHome.createIfMissing(home) }
        let masterKey = try await MasterKeyLoader.load(home: home, environment: environment, store: store)
        return Installation(store: store, masterKey: masterKey, policy: policy, actor: actor, clock: clock)
    }

    /// Opens a key's sealed material.
    func hmacKey(for record: KeyRecord, purpose: Purpose = .link) throws -> HMACKey? {
        try hmacKeys(for: record, purposes: [purpose])?[0]
    }

    /// Opens a key's sealed material once and prepares an HMAC key for each purpose, in order; nil when the
    /// key has no material (destroyed).
    func hmacKeys(for record: KeyRecord, purposes: [Purpose]) throws -> [HMACKey]? {
        guard let sealed = record.sealedSecret else { return nil }
        guard var secret = masterKey.open(sealed, context: KeyRecord.sealingContext(for: record.id)) else {
            throw PortalLinksError(.masterKey, "key \(record.id) does not open with this master key")
        }
        defer { SecureRandom.wipe(&secret) }
        return purposes.map { HMACKey(secret: secret, purpose: $0) }
    }
}
