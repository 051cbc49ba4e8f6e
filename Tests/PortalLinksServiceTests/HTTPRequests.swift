import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An HTTP answer as a test reads it.
struct HTTPAnswer {
    let status: Int
    /// Header values by lower-cased name.
    let headers: [String: String]
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Plain HTTP requests to a local port, redirects not followed (a 302 is an answer to look at).
enum HTTPRequests {
    private final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }

    private static let session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)

    static func send(_ method: String = "GET", port: Int, _ path: String, headers: [String: String] = [:],
                     body: Data? = nil) async throws -> HTTPAnswer {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields[String(describing: name).lowercased()] = String(describing: value) }
        return HTTPAnswer(status: http.statusCode, headers: fields, body: data)
    }

    /// A Connect call with a JSON body.
    static func connect(port: Int, _ path: String, apiKey: String?, json: [String: Any],
                        headers: [String: String] = [:]) async throws -> HTTPAnswer {
        var all = ["Content-Type": "application/json"]
        if let apiKey { all["Authorization"] = "Bearer \(apiKey)" }
        all.merge(headers) { $1 }
        return try await send("POST", port: port, path, headers: all, body: try JSONSerialization.data(withJSONObject: json))
    }
}
