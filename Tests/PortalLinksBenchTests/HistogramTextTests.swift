import Foundation
import Histogram
import NIOCore
import Testing
@testable import PortalLinksBench

/// HdrHistogram's standard encoding, read and written as the field's own implementations do.
@Suite struct HistogramTextTests {
    /// Written by HdrHistogram_py 0.10.8 (`HdrHistogram(1, 60_000_000_000, 3)`, `encode()`): values at the edges of
    /// the first buckets, a run of zeros across most of the range, a value recorded three times and one near the top.
    static let reference = "HISTFAAAADt4nJNpmSzMwMAgxQABzFCaEYh5f7hHMNh/gAowMZ3kZ1otwMTyl59powfT/yWMTJ892E66MgEAGBQL2A=="
    static let referenceValues: [UInt64] = [1, 2, 1000, 2047, 2048, 2049, 4096, 100_000, 123_456_789, 59_999_999_999]

    @Test func readsWhatTheReferenceImplementationWrites() throws {
        let histogram = try HistogramText.decode(Self.reference)
        #expect(histogram.totalCount == 13)
        #expect(histogram.numberOfSignificantValueDigits == .three && histogram.highestTrackableValue == 60_000_000_000)
        for value in Self.referenceValues where value != 2_048 && value != 2_049 { #expect(histogram.countForValue(value) == 1, "\(value)") }
        #expect(histogram.countForValue(2_048) == 2, "2,048 and 2,049 share a count from 2,048 up, at three digits")
        #expect(histogram.countForValue(3_000_000_000) == 3)
        // As HdrHistogram_py reports them for the same histogram.
        #expect(histogram.valueAtPercentile(50) == 4_099 && histogram.valueAtPercentile(90) == 3_001_024_511)
        #expect(histogram.max == 60_028_878_847)
        // Two significant digits, one value five times (HdrHistogram(1, 60_000_000_000, 2)).
        let small = try HistogramText.decode("HISTFAAAACR4nJNpmSzMwMDAzAABTFCaEYh5f7hHMNh/gAg0s3MBAFsqBLQ=")
        #expect(small.numberOfSignificantValueDigits == .two && small.totalCount == 5 && small.countForValue(777) == 5)
    }

    @Test func whatItWritesReadsBackTheSame() throws {
        var generator = SystemRandomNumberGenerator()
        for digits in [SignificantDigits.two, .three] {
            var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: digits)
            #expect(try HistogramText.decode(HistogramText.encode(histogram)).totalCount == 0, "empty")
            var values = Self.referenceValues + [0, 59_999_999_999]
            for _ in 0..<20_000 { values.append(UInt64(exp(Double.random(in: 0...24.8, using: &generator)))) }
            for value in values { let recorded = histogram.record(value); #expect(recorded) }
            _ = histogram.record(12_345, count: 1 << 40)  // a count past 2^32 and past seven bits a byte several times over
            let decoded = try HistogramText.decode(HistogramText.encode(histogram))
            #expect(decoded.totalCount == histogram.totalCount && decoded.max == histogram.max && decoded.min == histogram.min)
            for value in Set(values) { #expect(decoded.countForValue(value) == histogram.countForValue(value), "\(value)") }
            // The encoding keeps counts, not the exact extremes: each percentile is the same within its precision,
            // and exactly the same once read again.
            let again = try HistogramText.decode(HistogramText.encode(decoded))
            for percentile in [0.0, 50, 90, 99, 99.9, 99.99, 99.999, 100] {
                #expect(decoded.valuesAreEquivalent(decoded.valueAtPercentile(percentile), histogram.valueAtPercentile(percentile)), "p\(percentile)")
                #expect(again.valueAtPercentile(percentile) == decoded.valueAtPercentile(percentile))
            }
        }
    }

    @Test func zigZagNumbersAtEveryLength() {
        for value: Int64 in [0, 1, -1, 63, -64, 64, 8_191, 1 << 20, -(1 << 33), 1 << 55, (1 << 56) + 3, Int64.max, Int64.min] {
            var buffer = ByteBuffer()
            HistogramText.writeZigZag(value, to: &buffer)
            #expect(buffer.readableBytes <= 9)
            #expect(HistogramText.readZigZag(from: &buffer) == value && buffer.readableBytes == 0, "\(value)")
        }
    }

    /// A file handed to `bench merge` may be anything: each of these is one error, never a crash or a
    /// histogram made up.
    @Test func damagedTextIsRefused() {
        var valid = Array(Data(base64Encoded: Self.reference)!)
        let cases: [String] = [
            "not base64 at all", "", Data([0x1c, 0x84, 0x93, 0x13, 0, 0, 0, 0]).base64EncodedString(),  // the uncompressed cookie
            Data(valid.prefix(20)).base64EncodedString(),  // cut short
            { valid[12] ^= 0xff; return Data(valid).base64EncodedString() }(),  // the zlib stream damaged
        ]
        for text in cases {
            #expect(throws: HistogramText.DecodingError.self, "\(text.prefix(20))") { try HistogramText.decode(text) }
        }
    }
}
