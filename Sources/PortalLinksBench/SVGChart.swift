import Foundation
import PortalLinks

/// A line chart as inline SVG, with labelled axes, ticks and a legend: the report draws every figure with it,
/// so that the page fetches nothing.
struct SVGChart {
    struct Series {
        let label: String
        let color: String
        let points: [(x: Double, y: Double)]
        var dashed = false
    }

    var title: String
    var xTitle: String
    var yTitle: String
    var xTicks: [(value: Double, label: String)]
    var series: [Series]
    var width = 860.0, height = 340.0
    private let left = 70.0, right = 36.0, top = 36.0, bottom = 50.0

    init(title: String, xTitle: String, yTitle: String, xTicks: [(value: Double, label: String)], series: [Series]) {
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.xTicks = xTicks
        self.series = series
    }

    var svg: String {
        let all = series.flatMap(\.points)
        let xMin = min(xTicks.map(\.value).min() ?? 0, all.map(\.x).min() ?? 0)
        let xMax = max(xTicks.map(\.value).max() ?? 1, all.map(\.x).max() ?? 1, xMin + 1e-9)
        let yTicks = Self.niceTicks(upTo: max(all.map(\.y).max() ?? 1, 1e-9))
        let yMax = yTicks.last ?? 1
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func x(_ value: Double) -> Double { left + (value - xMin) / (xMax - xMin) * plotWidth }
        func y(_ value: Double) -> Double { top + plotHeight - value / yMax * plotHeight }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(HTMLText.escape(title))\">"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
        out += "<text x=\"\(left)\" y=\"20\" font-size=\"14\" font-weight=\"bold\">\(HTMLText.escape(title))</text>"
        for tick in yTicks {
            out += String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", left, width - right, y(tick), y(tick))
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">", left - 6, y(tick) + 4) + Self.label(tick) + "</text>"
        }
        for tick in xTicks {
            out += String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", x(tick.value), x(tick.value), top, top + plotHeight)
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">", x(tick.value), top + plotHeight + 16)
                + HTMLText.escape(tick.label) + "</text>"
        }
        out += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>", left, top, plotWidth, plotHeight)
        out += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">", left + plotWidth / 2, height - 10)
            + HTMLText.escape(xTitle) + "</text>"
        out += String(format: "<text transform=\"translate(16 %.1f) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">", top + plotHeight / 2)
            + HTMLText.escape(yTitle) + "</text>"
        let labelled = series.filter { !$0.points.isEmpty }
        if !labelled.isEmpty {  // the legend on a white card, over the lines
            let widest = Double(labelled.map(\.label.count).max() ?? 0) * 6.5 + 48
            out += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fff\" fill-opacity=\"0.9\" stroke=\"#ddd\"/>",
                          left + 4, top + 2, widest, Double(labelled.count) * 16 + 6)
        }
        for (index, line) in labelled.enumerated() {
            let points = line.points.map { String(format: "%.1f,%.1f", x($0.x), y($0.y)) }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(points)\"/>"
            let legendY = top + 14 + Double(index) * 16
            out += String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" ", left + 10, left + 34, legendY - 4, legendY - 4)
                + "stroke=\"\(line.color)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"6 4\"" : "")/>"
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", left + 40, legendY) + HTMLText.escape(line.label) + "</text>"
        }
        return out + "</svg>"
    }

    /// Round steps (1, 2 or 5 times a power of ten) from zero past `maximum`.
    static func niceTicks(upTo maximum: Double) -> [Double] {
        let rough = maximum / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        return (0...Int(ceil(maximum / step))).map { Double($0) * step }
    }

    static func label(_ value: Double) -> String {
        if value >= 1_000_000 { return String(format: "%gM", value / 1_000_000) }
        if value >= 10_000 { return String(format: "%gk", value / 1_000) }
        return String(format: "%g", value)
    }
}
