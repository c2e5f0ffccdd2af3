// fluidaudio-bridge: load a FluidAudio Parakeet TDT model once, transcribe one audio file --runs
// times, and print exactly one JSON object on stdout (schema 1, see ../../README.md).
//
//   fluidaudio-bridge --model <parakeet-tdt-0.6b-v2|parakeet-tdt-0.6b-v3|folder> --audio <file.wav>
//                     [--model-version v2|v3|110m] [--language en] [--runs N]
//                     [--stream --chunk S --clock simulated|real]

@preconcurrency import AVFoundation
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
        case "--model-version": options.modelVersion = try nextValue(flag)
        case "--language":
            let language = try nextValue(flag)
            options.language = language == "auto" ? nil : language
        case "--runs":
            let text = try nextValue(flag)
            guard let runs = Int(text), runs >= 1 else { throw BridgeFailure(description: "--runs must be a positive integer, not \(text)") }
            options.runs = runs
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
    let loadSeconds: Double
    var runSeconds: [Double] = []
    let text: String
    let words: [WordTiming]
    let duration: Double
    var stream: [String: Any]? = nil
    if options.stream {
        let config = SlidingWindowAsrConfig.streaming
            .applying(tdtConfig: TdtConfig(blankId: version.blankId))
            .applying(language: language)
        let streamer = SlidingWindowAsrManager(config: config)
        try await streamer.loadModels(models)
        loadSeconds = seconds(since: loadStart)
        let streamed = try await streamTranscription(streamer, config: config, samples: samples, options: options)
        runSeconds = [streamed.computeSeconds]
        text = streamed.text.trimmingCharacters(in: .whitespacesAndNewlines)
        words = streamed.words
        duration = Double(samples.count) / 16_000
        stream = streamed.object
    } else {
        let manager = AsrManager(
            config: ASRConfig(tdtConfig: TdtConfig(blankId: version.blankId), encoderHiddenSize: version.encoderHiddenSize)
        )
        try await manager.loadModels(models)
        loadSeconds = seconds(since: loadStart)

        var lastResult: ASRResult?
        for _ in 0..<options.runs {
            var decoderState = TdtDecoderState.make(decoderLayers: await manager.decoderLayerCount)
            let start = DispatchTime.now()
            lastResult = try await manager.transcribe(samples, decoderState: &decoderState, language: language)
            runSeconds.append(seconds(since: start))
        }
        guard let result = lastResult else { throw BridgeFailure(description: "no transcription run") }
        text = result.text.trimmingCharacters(in: .whitespacesAndNewlines)
        words = buildWordTimings(from: result.tokenTimings ?? [])
        duration = result.duration
    }

    var segments = sentenceSegments(words)
    if segments.isEmpty && !text.isEmpty {
        segments = [["start": 0.0, "end": duration, "text": text]]
    }
    let modelName = fromFolder ? URL(fileURLWithPath: options.model).lastPathComponent : options.model
    var object: [String: Any] = [
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
    if let stream {
        object["stream"] = stream
        if var settings = object["settings"] as? [String: Any] {
            settings["stream_chunk_s"] = String(options.chunkSeconds)
            settings["stream_clock"] = options.realClock ? "real" : "simulated"
            settings["long_audio"] = "SlidingWindowAsrManager's windows (.streaming config)"
            object["settings"] = settings
        }
    }
    return object
}

// MARK: - Streaming (--stream)

/// The updates SlidingWindowAsrManager publishes, each with when it arrived.
struct ArrivedUpdate: Sendable {
    let update: SlidingWindowTranscriptionUpdate
    let arrivalNanoseconds: UInt64
}

actor UpdateLog {
    private(set) var arrived: [ArrivedUpdate] = []

    func add(_ update: SlidingWindowTranscriptionUpdate) {
        arrived.append(ArrivedUpdate(update: update, arrivalNanoseconds: DispatchTime.now().uptimeNanoseconds))
    }
}

/// One --chunk of audio handed to the library: how many samples had been fed, and when.
struct Feed {
    let fedSamples: Int
    let atNanoseconds: UInt64
}

struct StreamedTranscription {
    let text: String
    let words: [WordTiming]
    let computeSeconds: Double
    let object: [String: Any]
}

/// 16 kHz mono Float32 samples as the buffer SlidingWindowAsrManager.streamAudio takes.
func pcmBuffer(_ samples: ArraySlice<Float>) throws -> AVAudioPCMBuffer {
    guard let format = AVAudioFormat(commonFormat: .pcmFormatFloat32, sampleRate: 16_000, channels: 1, interleaved: false),
        let buffer = AVAudioPCMBuffer(pcmFormat: format, frameCapacity: AVAudioFrameCount(samples.count)),
        let channel = buffer.floatChannelData?[0]
    else { throw BridgeFailure(description: "could not make an audio buffer of \(samples.count) samples") }
    buffer.frameLength = AVAudioFrameCount(samples.count)
    for (offset, sample) in samples.enumerated() {
        channel[offset] = sample
    }
    return buffer
}

/// Token timings as words: a leading space starts each word, as the stream format asks.
func timedPieces(_ timings: [TokenTiming]) -> [[String: Any]] {
    buildWordTimings(from: timings).map { ["text": " " + $0.word, "start": $0.startTime, "end": $0.endTime] as [String: Any] }
}

/// FluidAudio's own streaming of the file: SlidingWindowAsrManager (0.15.6's name for the TDT
/// StreamingAsrManager) fed --chunk seconds at a time. It decodes a window each time it has
/// config.chunkSeconds + rightContextSeconds of new audio (and the rest at finish()) and publishes
/// one update per window: that window's text and token timings, isConfirmed when confident enough.
/// The events mirror its confirmedTranscript / volatileTranscript: a confirmed update promotes the
/// volatile text to confirmed and becomes the new volatile text. The last event is finish()'s text.
func streamTranscription(
    _ streamer: SlidingWindowAsrManager, config: SlidingWindowAsrConfig, samples: [Float], options: BridgeOptions
) async throws -> StreamedTranscription {
    guard !samples.isEmpty else { throw BridgeFailure(description: "the audio file has no samples") }
    let sampleRate = 16_000
    let chunk = max(1, Int(options.chunkSeconds * Double(sampleRate)))
    let windowChunk = Int(config.chunkSeconds * Double(sampleRate))
    let rightContext = Int(config.rightContextSeconds * Double(sampleRate))
    /// How many windows the library decodes before finish(), once `fed` samples are in.
    func windowsReady(_ fed: Int) -> Int {
        fed >= windowChunk + rightContext ? (fed - rightContext) / windowChunk : 0
    }

    let log = UpdateLog()
    let updates = await streamer.transcriptionUpdates
    let collector = Task {
        for await update in updates {
            await log.add(update)
        }
    }
    try await streamer.startStreaming()
    let streamStart = DispatchTime.now()
    var feeds: [Feed] = []
    var fed = 0
    while fed < samples.count {
        let next = min(samples.count, fed + chunk)
        if options.realClock {
            let wait = Double(next) / Double(sampleRate) - seconds(since: streamStart)
            if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1_000_000_000)) }
        }
        let buffer = try pcmBuffer(samples[fed..<next])
        await streamer.streamAudio(buffer)
        fed = next
        feeds.append(Feed(fedSamples: fed, atNanoseconds: DispatchTime.now().uptimeNanoseconds))
        if !options.realClock && fed < samples.count {
            // Simulated clock: the next chunk goes in once the windows this one completes are decoded.
            let expected = windowsReady(fed)
            let waitStart = DispatchTime.now()
            while await log.arrived.count < expected {
                if seconds(since: waitStart) > 120 {
                    throw BridgeFailure(description: "SlidingWindowAsrManager published no update for 120 s")
                }
                try await Task.sleep(nanoseconds: 2_000_000)
            }
        }
    }
    let finalText = try await streamer.finish()
    let finishedAt = DispatchTime.now().uptimeNanoseconds
    await streamer.cancel()  // ends transcriptionUpdates, so the collector takes the rest and stops
    await collector.value
    let arrived = await log.arrived

    var events: [[String: Any]] = []
    var confirmed: [TokenTiming] = []
    var volatile: [TokenTiming] = []
    var all: [TokenTiming] = []
    var computeSeconds = 0.0
    var previousDone = streamStart.uptimeNanoseconds
    func sinceStart(_ nanoseconds: UInt64) -> Double {
        Double(nanoseconds - min(nanoseconds, streamStart.uptimeNanoseconds)) / 1_000_000_000
    }
    for (index, item) in arrived.enumerated() {
        let trigger = feeds.first(where: { windowsReady($0.fedSamples) > index }) ?? feeds[feeds.count - 1]
        let startedAt = min(max(trigger.atNanoseconds, previousDone), item.arrivalNanoseconds)
        let compute = Double(item.arrivalNanoseconds - startedAt) / 1_000_000_000
        computeSeconds += compute
        previousDone = item.arrivalNanoseconds
        if item.update.isConfirmed {
            confirmed.append(contentsOf: volatile)
        }
        volatile = item.update.tokenTimings
        all.append(contentsOf: item.update.tokenTimings)
        let audioEnd = Double(trigger.fedSamples) / Double(sampleRate)
        events.append([
            "audio_end_s": audioEnd,
            "clock_s": options.realClock ? sinceStart(item.arrivalNanoseconds) : audioEnd,
            "compute_s": compute,
            "confirmed": timedPieces(confirmed),
            "unconfirmed": timedPieces(volatile),
        ])
    }
    let finalCompute = Double(finishedAt - min(max(feeds[feeds.count - 1].atNanoseconds, previousDone), finishedAt)) / 1_000_000_000
    computeSeconds += finalCompute
    let duration = Double(samples.count) / Double(sampleRate)
    events.append([
        "audio_end_s": duration,
        "clock_s": options.realClock ? max(sinceStart(finishedAt), sinceStart(previousDone)) : duration,
        "compute_s": finalCompute,
        "confirmed": timedPieces(all),
        "unconfirmed": [] as [[String: Any]],
    ])
    let api = "SlidingWindowAsrManager (FluidAudio 0.15.6, .streaming config: \(config.chunkSeconds) s windows), "
        + "confirmed and volatile text, token timings; last event finish()"
    let object: [String: Any] = [
        "api": api,
        "clock": options.realClock ? "real" : "simulated",
        "chunk_s": options.chunkSeconds,
        "events": events,
    ]
    return StreamedTranscription(text: finalText, words: buildWordTimings(from: all), computeSeconds: computeSeconds, object: object)
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
    static let usage = "usage: fluidaudio-bridge --model <parakeet-tdt-0.6b-v2|parakeet-tdt-0.6b-v3|folder> --audio <wav> [--model-version v2|v3|110m] [--language en] [--runs N] [--stream --chunk S --clock simulated|real]"

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
