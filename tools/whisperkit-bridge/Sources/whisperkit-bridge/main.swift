// whisperkit-bridge: load a WhisperKit model once, transcribe one audio file --runs times, and
// print exactly one JSON object on stdout (schema 1, see ../../README.md).
//
//   whisperkit-bridge --model <name-or-folder> --audio <file.wav> [--language en|auto] [--runs N] [--temperature T]
//                     [--stream --chunk S --clock simulated|real]

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
    var stream = false  // --stream: feed the file S seconds at a time (see streamTranscription)
    var chunkSeconds = 1.0
    var realClock = false  // --clock real: audio arrives at the speed of speech
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
        case "--stream": options.stream = true
        case "--chunk":
            let text = try nextValue(flag)
            guard let chunk = Double(text), chunk > 0 else { throw BridgeFailure(description: "--chunk must be a number of seconds > 0, not \(text)") }
            options.chunkSeconds = chunk
        case "--clock":
            let clock = try nextValue(flag)
            guard clock == "simulated" || clock == "real" else { throw BridgeFailure(description: "--clock must be simulated or real, not \(clock)") }
            options.realClock = clock == "real"
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
    var stream: [String: Any]? = nil
    let resultSegments: [TranscriptionSegment]
    let text: String
    if options.stream {
        let streamed = try await streamTranscription(whisperKit, samples: samples, decodeOptions: decodeOptions, options: options)
        runSeconds = [streamed.computeSeconds]
        resultSegments = streamed.segments
        stream = streamed.object
        text = resultSegments.map { plainText($0.text) }.filter { !$0.isEmpty }.joined(separator: " ")
    } else {
        for _ in 0..<options.runs {
            let start = DispatchTime.now()
            results = try await whisperKit.transcribe(audioArray: samples, decodeOptions: decodeOptions)
            runSeconds.append(seconds(since: start))
        }
        resultSegments = results.flatMap { $0.segments }
        text = results.map { plainText($0.text) }.filter { !$0.isEmpty }.joined(separator: " ")
    }

    let segments: [[String: Any]] = resultSegments.map {
        ["start": Double($0.start), "end": Double($0.end), "text": plainText($0.text)]
    }
    let compute = whisperKit.modelCompute
    let folder = whisperKit.modelFolder
    var object: [String: Any] = [
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
    if let stream {
        object["stream"] = stream
        if var settings = object["settings"] as? [String: Any] {
            settings["stream_chunk_s"] = String(options.chunkSeconds)
            settings["stream_clock"] = options.realClock ? "real" : "simulated"
            settings["word_timestamps"] = "true (stream)"
            object["settings"] = settings
        }
    }
    return object
}

// MARK: - Streaming (--stream)

/// The segments' words (WhisperKit's word timings), or the whole segment with its own times
/// where a segment has no word timings.
func timedPieces(_ segments: [TranscriptionSegment]) -> [[String: Any]] {
    segments.flatMap { segment -> [[String: Any]] in
        if let words = segment.words, !words.isEmpty {
            return words.map { ["text": $0.word, "start": Double($0.start), "end": Double($0.end)] as [String: Any] }
        }
        let text = plainText(segment.text)
        if text.isEmpty { return [] }
        return [["text": " " + text, "start": Double(segment.start), "end": Double(segment.end)] as [String: Any]]
    }
}

struct StreamedTranscription {
    let segments: [TranscriptionSegment]
    let computeSeconds: Double
    let object: [String: Any]
}

/// WhisperKit's own streaming loop, as AudioStreamTranscriber.transcribeCurrentBuffer runs it on the
/// microphone buffer (AudioStreamTranscriber itself only reads the microphone): transcribe all the
/// audio so far from the end of the last confirmed segment (clipTimestamps), confirm every segment
/// but the last `requiredSegmentsForConfirmation` (2, its default), show those two as unconfirmed.
/// At the end of the audio the remaining segments are confirmed (the stream's final text).
func streamTranscription(
    _ whisperKit: WhisperKit, samples: [Float], decodeOptions: DecodingOptions, options: BridgeOptions
) async throws -> StreamedTranscription {
    let requiredSegmentsForConfirmation = 2
    let sampleRate = Double(WhisperKit.sampleRate)
    let chunk = max(1, Int(options.chunkSeconds * sampleRate))
    var streamOptions = decodeOptions
    streamOptions.wordTimestamps = true
    var confirmed: [TranscriptionSegment] = []
    var lastConfirmedEnd: Float = 0
    var events: [[String: Any]] = []
    var computeSeconds = 0.0
    var fed = 0
    let streamStart = DispatchTime.now()
    while fed < samples.count {
        fed = min(samples.count, fed + chunk)
        if options.realClock {
            let wait = Double(fed) / sampleRate - seconds(since: streamStart)
            if wait > 0 {
                try await Task.sleep(nanoseconds: UInt64(wait * 1_000_000_000))
            } else {
                // Slower than speech: every whole chunk that has arrived meanwhile goes in at once.
                let arrived = Int(seconds(since: streamStart) * sampleRate) / chunk * chunk
                fed = min(samples.count, max(fed, arrived))
            }
        }
        var windowOptions = streamOptions
        windowOptions.clipTimestamps = [lastConfirmedEnd]
        let start = DispatchTime.now()
        let results = try await whisperKit.transcribe(audioArray: Array(samples[0..<fed]), decodeOptions: windowOptions)
        let compute = seconds(since: start)
        computeSeconds += compute
        let segments = results.flatMap { $0.segments }
        var unconfirmed = segments
        if fed == samples.count {
            confirmed.append(contentsOf: segments)
            unconfirmed = []
        } else if segments.count > requiredSegmentsForConfirmation {
            let toConfirm = Array(segments.prefix(segments.count - requiredSegmentsForConfirmation))
            if let last = toConfirm.last, last.end > lastConfirmedEnd {
                lastConfirmedEnd = last.end
                confirmed.append(contentsOf: toConfirm)
            }
            unconfirmed = Array(segments.suffix(requiredSegmentsForConfirmation))
        }
        let audioEnd = Double(fed) / sampleRate
        events.append([
            "audio_end_s": audioEnd,
            "clock_s": options.realClock ? seconds(since: streamStart) : audioEnd,
            "compute_s": compute,
            "confirmed": timedPieces(confirmed),
            "unconfirmed": timedPieces(unconfirmed),
        ])
    }
    let api = "AudioStreamTranscriber's loop (WhisperKit 0.17.0: transcribe from the last confirmed segment, "
        + "all but the last 2 segments confirmed; its microphone input replaced by the file), word timestamps"
    let object: [String: Any] = [
        "api": api,
        "clock": options.realClock ? "real" : "simulated",
        "chunk_s": options.chunkSeconds,
        "events": events,
    ]
    return StreamedTranscription(segments: confirmed, computeSeconds: computeSeconds, object: object)
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
    static let usage = "usage: whisperkit-bridge --model <name-or-folder> --audio <wav> [--language en|auto] [--runs N] [--temperature T] [--stream --chunk S --clock simulated|real]"

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
