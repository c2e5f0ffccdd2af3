// swift-tools-version: 6.0
// fluidaudio-bridge: a one-shot command-line bridge from whisper-speedtest to FluidAudio (Parakeet ASR).
import PackageDescription

let package = Package(
    name: "fluidaudio-bridge",
    platforms: [.macOS(.v14)],
    dependencies: [
        // Pinned: main.swift is written against this release's API (AsrManager with explicit TdtDecoderState).
        .package(url: "https://github.com/FluidInference/FluidAudio.git", exact: "0.15.6"),
    ],
    targets: [
        .executableTarget(
            name: "fluidaudio-bridge",
            dependencies: [.product(name: "FluidAudio", package: "FluidAudio")],
            path: "Sources/fluidaudio-bridge",
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
