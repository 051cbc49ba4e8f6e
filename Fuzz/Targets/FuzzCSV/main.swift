// libFuzzer target (make fuzz): the `issue --csv` reader on arbitrary files. See CSVChecks.
import PortalLinksFuzzChecks

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    do { try CSVChecks.check(UnsafeRawBufferPointer(start: start, count: count)) } catch { fatalError("\(error)") }
    return 0
}
