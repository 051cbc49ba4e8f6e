// libFuzzer target (make fuzz): token decoding and verification on arbitrary strings. See TokenChecks.
import PortalLinksFuzzChecks

enum Harness {
    static let checks: TokenChecks = {
        do { return try TokenChecks() } catch { fatalError("\(error)") }
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokens(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    do { try Harness.checks.check(UnsafeRawBufferPointer(start: start, count: count)) } catch { fatalError("\(error)") }
    return 0
}
