// libFuzzer target (make fuzz): every request handler of a live server in this process. See RequestChecks.
import PortalLinksFuzzChecks

enum Harness {
    static let checks = RequestChecks.startAndPrepare()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequests(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    do { try Harness.checks.check(UnsafeRawBufferPointer(start: start, count: count)) } catch { fatalError("\(error)") }
    return 0
}
