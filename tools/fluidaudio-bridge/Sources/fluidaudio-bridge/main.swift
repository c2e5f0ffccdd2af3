// fluidaudio-bridge: load a FluidAudio Parakeet TDT model once, transcribe one audio file --runs
// times, and print exactly one JSON object on stdout (schema 1, see ../../README.md).
//
//   fluidaudio-bridge --model <parakeet-tdt-0.6b-v2|parakeet-tdt-0.6b-v3|folder> --audio <file.wav>
//                     [--model-version v2|v3|110m] [--language en] [--runs N]

import CoreML
import FluidAudio
import Foundation

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
    var modelVersion: String? = nil  // nil: inferred from --model
    var language: String? = nil  // nil: no language hint
    var runs = 1
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
        case "--model-version": options.modelVersion = try nextValue(flag)
        case "--language":
            let language = try nextValue(flag)
            options.language = language == "auto" ? nil : language
        case "--runs":
            let text = try nextValue(flag)
            guard let runs = Int(text), runs >= 1 else { throw BridgeFailure(description: "--runs must be a positive integer, not \(text)") }
            options.runs = runs
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

/// FluidAudio's model version, from --model-version or else from the model's name or folder name.
func modelVersion(_ options: BridgeOptions) throws -> (AsrModelVersion, String) {
    let hint = (options.modelVersion ?? URL(fileURLWithPath: options.model).lastPathComponent).lowercased()
    if hint == "110m" || hint.contains("110m") { return (.tdtCtc110m, "110m") }
    if hint == "v2" || hint.contains("-v2") { return (.v2, "v2") }
    if hint == "v3" || hint.contains("-v3") { return (.v3, "v3") }
    throw BridgeFailure(description: "cannot tell the Parakeet version of \(options.model); pass --model-version v2, v3 or 110m")
}

func languageHint(_ code: String?) throws -> Language? {
    guard let code else { return nil }
    guard let language = Language(rawValue: code.lowercased()) else {
        let valid = Language.allCases.map(\.rawValue).joined(separator: ", ")
        throw BridgeFailure(description: "FluidAudio has no language \(code); valid: \(valid)")
    }
    return language
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

/// Sentence-like segments from word timings: a segment ends at a word ending in . ? or !
func sentenceSegments(_ words: [WordTiming]) -> [[String: Any]] {
    var segments: [[String: Any]] = []
    var current: [WordTiming] = []
    func flush() {
        guard let first = current.first, let last = current.last else { return }
        segments.append(["start": first.startTime, "end": last.endTime, "text": current.map(\.word).joined(separator: " ")])
        current = []
    }
    for word in words {
        current.append(word)
        if let lastCharacter = word.word.last, ".?!".contains(lastCharacter) { flush() }
    }
    flush()
    return segments
}

// MARK: - Transcription

func runTranscription(_ options: BridgeOptions) async throws -> [String: Any] {
    guard FileManager.default.fileExists(atPath: options.audio) else {
        throw BridgeFailure(description: "audio file not found: \(options.audio)")
    }
    let (version, versionName) = try modelVersion(options)
    let language = try languageHint(options.language)
    let samples = try AudioConverter().resampleAudioFile(URL(fileURLWithPath: options.audio))

    let fromFolder = isDirectory(options.model)
    if fromFolder {
        ModelHub.offlineMode = true  // a given folder must be complete; never fetch behind the user's back
    }
    let loadStart = DispatchTime.now()
    let models: AsrModels
    if fromFolder {
        models = try await AsrModels.load(from: URL(fileURLWithPath: options.model, isDirectory: true), version: version)
    } else {
        models = try await AsrModels.downloadAndLoad(version: version)
    }
    let manager = AsrManager(
        config: ASRConfig(tdtConfig: TdtConfig(blankId: version.blankId), encoderHiddenSize: version.encoderHiddenSize)
    )
    try await manager.loadModels(models)
    let loadSeconds = seconds(since: loadStart)

    var runSeconds: [Double] = []
    var lastResult: ASRResult?
    for _ in 0..<options.runs {
        var decoderState = TdtDecoderState.make(decoderLayers: await manager.decoderLayerCount)
        let start = DispatchTime.now()
        lastResult = try await manager.transcribe(samples, decoderState: &decoderState, language: language)
        runSeconds.append(seconds(since: start))
    }
    guard let result = lastResult else { throw BridgeFailure(description: "no transcription run") }

    let text = result.text.trimmingCharacters(in: .whitespacesAndNewlines)
    var segments = sentenceSegments(buildWordTimings(from: result.tokenTimings ?? []))
    if segments.isEmpty && !text.isEmpty {
        segments = [["start": 0.0, "end": result.duration, "text": text]]
    }
    let modelName = fromFolder ? URL(fileURLWithPath: options.model).lastPathComponent : options.model
    return [
        "schema": Bridge.schemaVersion,
        "text": text,
        "segments": segments,
        "language": nullable(language?.rawValue),
        "timing": [
            "load_s": loadSeconds,
            "transcribe_s": runSeconds,
            "excludes": "process start-up and model load",
        ] as [String: Any],
        "model": modelName,
        "compute_units": "preprocessor=cpuOnly, encoder/decoder/joint=\(describe(models.configuration.computeUnits))",
        "settings": [
            "model_version": versionName,
            "language": language?.rawValue ?? "auto",
            "decoder": "greedy (TDT)",
            "temperature": "n/a (TDT decoding)",
            "encoder_precision": version == .v3 ? "int8" : "as published",
            "long_audio": "FluidAudio's own chunking",
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
    static let usage = "usage: fluidaudio-bridge --model <parakeet-tdt-0.6b-v2|parakeet-tdt-0.6b-v3|folder> --audio <wav> [--model-version v2|v3|110m] [--language en] [--runs N]"

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
