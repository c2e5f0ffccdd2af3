// swift-tools-version: 5.10
// whisperkit-bridge: a one-shot command-line bridge from whisper-speedtest to WhisperKit.
import PackageDescription

let package = Package(
    name: "whisperkit-bridge",
    platforms: [.macOS(.v14)],
    dependencies: [
        // The repository now presents itself as argmax-oss-swift; the WhisperKit URL redirects to it.
        // Pinned: main.swift is written against this release's API.
        .package(url: "https://github.com/argmaxinc/WhisperKit.git", exact: "0.17.0"),
    ],
    targets: [
        .executableTarget(
            name: "whisperkit-bridge",
            dependencies: [.product(name: "WhisperKit", package: "WhisperKit")],
            path: "Sources/whisperkit-bridge"
        ),
    ],
    swiftLanguageVersions: [.v5]
)
