// whisperkit-bridge: load a WhisperKit model once, transcribe one audio file --runs times, and
// print exactly one JSON object on stdout (schema 1, see ../../README.md).
//
//   whisperkit-bridge --model <name-or-folder> --audio <file.wav> [--language en|auto] [--runs N] [--temperature T]

import CoreML
import Foundation
import WhisperKit

// MARK: - stdout carries only the JSON

/// Anything a library prints on stdout would corrupt the JSON, so the real stdout is kept for the
/// JSON alone and file descriptor 1 is pointed at stderr for the rest of the process.
struct JSONOutput {
    let handle: FileHandle

    static func takeStdout() -> JSONOutput {
        fflush(stdout)
        let saved = FileHandle(fileDescriptor: dup(STDOUT_FILENO), closeOnDealloc: true)
        dup2(STDERR_FILENO, STDOUT_FILENO)
        return JSONOutput(handle: saved)
    }

    func emit(_ object: [String: Any]) {
        var data: Data
        if let encoded = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            data = encoded
        } else {
            data = Data("{\"schema\": \(Bridge.schemaVersion), \"error\": \"the result could not be encoded as JSON\"}".utf8)
        }
        data.append(0x0A)
        handle.write(data)
    }
}

struct BridgeFailure: Error, CustomStringConvertible {
    let description: String
}

func nullable(_ value: String?) -> Any {
    if let value { return value }
    return NSNull()
}

func oneLine(_ error: Error) -> String {
    let text = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
    return text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
}

func failureObject(_ error: Error) -> [String: Any] {
    [
        "schema": Bridge.schemaVersion,
        "error": oneLine(error),
        "text": NSNull(),
        "segments": NSNull(),
        "timing": NSNull(),
        "model": NSNull(),
        "compute_units": NSNull(),
    ]
}

// MARK: - Arguments

struct BridgeOptions {
    var model = ""
    var audio = ""
    var language: String? = nil  // nil: detect the language
    var runs = 1
    var temperature: Float = 0
}

func parseOptions(_ arguments: [String]) throws -> BridgeOptions {
    var options = BridgeOptions()
    var index = 0
    func nextValue(_ flag: String) throws -> String {
        index += 1
        guard index < arguments.count else { throw BridgeFailure(description: "\(flag) needs a value; \(Bridge.usage)") }
        return arguments[index]
    }
    while index < arguments.count {
        let flag = arguments[index]
        switch flag {
        case "--model": options.model = try nextValue(flag)
        case "--audio": options.audio = try nextValue(flag)
        case "--language":
            let language = try nextValue(flag)
            options.language = language == "auto" ? nil : language
        case "--runs":
            let text = try nextValue(flag)
            guard let runs = Int(text), runs >= 1 else { throw BridgeFailure(description: "--runs must be a positive integer, not \(text)") }
            options.runs = runs
        case "--temperature":
            let text = try nextValue(flag)
            guard let temperature = Float(text), temperature >= 0 else { throw BridgeFailure(description: "--temperature must be a number >= 0, not \(text)") }
            options.temperature = temperature
        default:
            throw BridgeFailure(description: "unknown argument \(flag); \(Bridge.usage)")
        }
        index += 1
    }
    if options.model.isEmpty || options.audio.isEmpty {
        throw BridgeFailure(description: Bridge.usage)
    }
    return options
}

// MARK: - Helpers

func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000_000
}

func isDirectory(_ path: String) -> Bool {
    var directory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
}

func describe(_ units: MLComputeUnits) -> String {
    switch units {
    case .cpuOnly: return "cpuOnly"
    case .cpuAndGPU: return "cpuAndGPU"
    case .cpuAndNeuralEngine: return "cpuAndNeuralEngine"
    case .all: return "all"
    @unknown default: return "unknown(\(units.rawValue))"
    }
}

/// Segment text without Whisper's special tokens (timestamps, language, end of text).
func plainText(_ text: String) -> String {
    text.replacingOccurrences(of: "<\\|[^|>]*\\|>", with: "", options: .regularExpression)
        .trimmingCharacters(in: .whitespacesAndNewlines)
}

// MARK: - Transcription

func runTranscription(_ options: BridgeOptions) async throws -> [String: Any] {
    guard FileManager.default.fileExists(atPath: options.audio) else {
        throw BridgeFailure(description: "audio file not found: \(options.audio)")
    }
    let samples = try AudioProcessor.loadAudioAsFloatArray(fromPath: options.audio)

    let fromFolder = isDirectory(options.model)
    let config = WhisperKitConfig(
        model: fromFolder ? nil : options.model,
        modelFolder: fromFolder ? options.model : nil,
        verbose: false,
        prewarm: false,
        load: true,
        download: !fromFolder
    )
    let loadStart = DispatchTime.now()
    let whisperKit = try await WhisperKit(config)
    let loadSeconds = seconds(since: loadStart)

    // The harness's settings: one fixed temperature (no fallback), greedy, no VAD chunking.
    let decodeOptions = DecodingOptions(
        verbose: false,
        task: .transcribe,
        language: options.language,
        temperature: options.temperature,
        temperatureFallbackCount: 0,
        usePrefillPrompt: true,
        detectLanguage: options.language == nil,
        skipSpecialTokens: true,
        withoutTimestamps: false,
        chunkingStrategy: ChunkingStrategy.none
    )
    var runSeconds: [Double] = []
    var results: [TranscriptionResult] = []
    for _ in 0..<options.runs {
        let start = DispatchTime.now()
        results = try await whisperKit.transcribe(audioArray: samples, decodeOptions: decodeOptions)
        runSeconds.append(seconds(since: start))
    }

    let segments: [[String: Any]] = results.flatMap { $0.segments }.map {
        ["start": Double($0.start), "end": Double($0.end), "text": plainText($0.text)]
    }
    let text = results.map { plainText($0.text) }.filter { !$0.isEmpty }.joined(separator: " ")
    let compute = whisperKit.modelCompute
    let folder = whisperKit.modelFolder
    return [
        "schema": Bridge.schemaVersion,
        "text": text,
        "segments": segments,
        "language": nullable(results.first?.language ?? options.language),
        "timing": [
            "load_s": loadSeconds,
            "transcribe_s": runSeconds,
            "excludes": "process start-up and model load",
        ] as [String: Any],
        "model": folder?.lastPathComponent ?? options.model,
        "compute_units": "mel=\(describe(compute.melCompute)), encoder=\(describe(compute.audioEncoderCompute)), decoder=\(describe(compute.textDecoderCompute))",
        "settings": [
            "language": options.language ?? "auto",
            "temperature": String(options.temperature),
            "temperature_fallback": "off",
            "decoder": "greedy",
            "condition_on_previous_text": "false (WhisperKit does not prompt with earlier windows)",
            "chunking": "none (consecutive 30 s windows)",
            "model_folder": folder?.path ?? "",
        ],
        "error": NSNull(),
    ]
}

// MARK: - Main

/// Exits when the process that started the bridge is gone (macOS has no parent-death signal), so a
/// harness that is stopped or killed never leaves a bridge running on.
func watchParent() -> DispatchSourceTimer {
    let parent = getppid()
    let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
    timer.schedule(deadline: .now() + 1, repeating: 1)
    timer.setEventHandler {
        if getppid() != parent { exit(3) }
    }
    timer.resume()
    return timer
}

enum Bridge {
    static let schemaVersion = 1
    static let usage = "usage: whisperkit-bridge --model <name-or-folder> --audio <wav> [--language en|auto] [--runs N] [--temperature T]"

    /// Prints exactly one JSON object on the real stdout; returns the exit status.
    static func run(_ arguments: [String]) async -> Int32 {
        let output = JSONOutput.takeStdout()
        let parentWatch = watchParent()
        defer { parentWatch.cancel() }
        do {
            let options = try parseOptions(arguments)
            output.emit(try await runTranscription(options))
            return 0
        } catch {
            output.emit(failureObject(error))
            return 1
        }
    }
}

let status = await Bridge.run(Array(CommandLine.arguments.dropFirst()))
exit(status)
