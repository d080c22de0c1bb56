namespace TransportBench;

/// <summary>How a scenario loads the server.</summary>
internal enum ScenarioKind
{
    /// <summary>As fast as the client goes (wrk, or h2load for HTTP/2): requests/s at saturation.</summary>
    Throughput,
    /// <summary>h2load at a fixed offered rate: latency percentiles and CPU per request at equal load.</summary>
    FixedRate,
    /// <summary>The runner opens many keep-alive connections and leaves them idle: RSS per connection.</summary>
    Idle,
    /// <summary>The runner's own client: one connection floods an upload while another does small round trips.</summary>
    Fairness,
}

/// <summary>What the load speaks on the wire.</summary>
internal enum WireProtocol
{
    /// <summary>HTTP/1.1 over TCP (wrk).</summary>
    Http11,
    /// <summary>HTTP/1.1 over TLS (wrk over OpenSSL), on an HTTPS endpoint with the runner's self-signed certificate.</summary>
    Https,
    /// <summary>HTTP/2 with prior knowledge over TCP (h2load), on an HTTP/2-only cleartext endpoint.</summary>
    H2c,
}

/// <summary>One load shape against one endpoint of SampleWeb, by the name <c>--scenarios</c> and the reports use.</summary>
/// <param name="PipelineDepth">Requests written back to back before reading responses (1: no pipelining).</param>
internal sealed record Scenario(string Name, string Path, int Connections, int PipelineDepth, ScenarioKind Kind, string Title)
{
    /// <summary>POST bodies of this many bytes; 0 sends GETs.</summary>
    public int BodyBytes { get; init; }
    /// <summary>0: keep-alive throughout. N: every Nth request of a load thread says <c>Connection: close</c>.</summary>
    public int RequestsPerConnection { get; init; }
    public WireProtocol Protocol { get; init; } = WireProtocol.Http11;
    /// <summary>HTTP/2 streams in flight per connection (h2load -m).</summary>
    public int Streams { get; init; } = 1;
    /// <summary>Measured seconds without --duration: 8 for the original five (the published reference run's), else 5.</summary>
    public double DefaultSeconds { get; init; } = 5;
    /// <summary>Whether the in-memory floor can run it: HTTP/1.1 at saturation.</summary>
    public bool FloorServes => Kind == ScenarioKind.Throughput && Protocol == WireProtocol.Http11;
    /// <summary>Why the floor has no figure here, for reports.</summary>
    public string FloorMissing => (Protocol, Kind) switch
    {
        (WireProtocol.Https, _) => "the floor has no TLS",
        (WireProtocol.H2c, _) => "the floor has no HTTP/2 client",
        (_, ScenarioKind.FixedRate) => "the floor does not pace requests",
        (_, ScenarioKind.Fairness) => "the floor has no sockets to flood",
        _ => "the floor has no sockets to hold",
    };

    public static readonly Scenario Page = new("page", "/", 64, 1, ScenarioKind.Throughput, "magedu page `/`, 64 connections") { DefaultSeconds = 8 };
    public static readonly Scenario Plaintext = new("plaintext", "/plaintext", 256, 16, ScenarioKind.Throughput, "`/plaintext` pipelined 16 deep, 256 connections") { DefaultSeconds = 8 };
    public static readonly Scenario Json = new("json", "/json", 64, 1, ScenarioKind.Throughput, "`/json`, 64 connections") { DefaultSeconds = 8 };
    public static readonly Scenario Large = new("large", "/large", 16, 1, ScenarioKind.Throughput, "`/large` (1 MiB), 16 connections") { DefaultSeconds = 8 };
    public static readonly Scenario Latency = new("latency", "/", 64, 1, ScenarioKind.FixedRate, "magedu page `/` at a fixed offered rate, 64 connections") { DefaultSeconds = 8 };
    public static readonly Scenario Idle = new("idle", "/plaintext", 0, 1, ScenarioKind.Idle, "idle keep-alive connections (RSS per connection)");

    // The shapes real apps produce, each on every server from the same SampleWeb binary.
    public static readonly Scenario Hello = new("hello", "/shapes/hello", 64, 1, ScenarioKind.Throughput,
        "minimal API `() => \"Hello World!\"` (chunked: the terminating chunk is a flush of its own), 64 connections");
    public static readonly Scenario Stream = new("stream", "/shapes/stream", 64, 1, ScenarioKind.Throughput,
        "64 flushes of 32 B per response (WriteAsync + FlushAsync each), 64 connections");
    public static readonly Scenario Sse = new("sse", "/shapes/sse", 64, 1, ScenarioKind.Throughput,
        "`text/event-stream`, 300 small events each written and flushed, 64 connections");
    public static readonly Scenario Chunks = new("chunks", "/shapes/chunks", 64, 1, ScenarioKind.Throughput,
        "64 KiB written in 4 KiB `WriteAsync` calls, no explicit flush (chunked), 64 connections");
    public static readonly Scenario Churn = new("churn", "/", 64, 1, ScenarioKind.Throughput,
        "magedu page, a new connection per request (`Connection: close`), 64 at a time") { RequestsPerConnection = 1 };
    public static readonly Scenario Session = new("session", "/", 64, 1, ScenarioKind.Throughput,
        "magedu page, keep-alive sessions of 10 requests on average, then close; 64 at a time") { RequestsPerConnection = 10 };
    public static readonly Scenario Upload4K = new("upload-4k", "/shapes/upload", 64, 1, ScenarioKind.Throughput,
        "POST 4 KiB bodies, read to the end, small answer; 64 connections") { BodyBytes = 4 * 1024 };
    public static readonly Scenario Upload1M = new("upload-1m", "/shapes/upload", 16, 1, ScenarioKind.Throughput,
        "POST 1 MiB bodies, read to the end, small answer; 16 connections") { BodyBytes = 1024 * 1024 };
    public static readonly Scenario Tls = new("tls", "/", 64, 1, ScenarioKind.Throughput,
        "magedu page over HTTPS (TLS, HTTP/1.1, ECDSA P-256), 64 keep-alive connections") { Protocol = WireProtocol.Https };
    public static readonly Scenario TlsChurn = new("tls-churn", "/", 64, 1, ScenarioKind.Throughput,
        "magedu page over HTTPS, a new connection and a resumed TLS 1.3 handshake per request, 64 at a time")
    { Protocol = WireProtocol.Https, RequestsPerConnection = 1 };
    public static readonly Scenario H2 = new("h2", "/", 16, 1, ScenarioKind.Throughput,
        "magedu page over h2c (HTTP/2 prior knowledge), 16 connections × 16 streams") { Protocol = WireProtocol.H2c, Streams = 16 };
    public static readonly Scenario Fairness = new("fairness", "/shapes/drain", 2, 1, ScenarioKind.Fairness,
        "one connection floods an endless upload while another does `/plaintext` round trips one at a time; server on one CPU, one epoll loop");

    /// <summary>Every scenario, in the order a full run takes them (page first: latency's rate derives from it).</summary>
    public static readonly IReadOnlyList<Scenario> All =
    [
        Page, Plaintext, Json, Large, Latency, Idle,
        Hello, Stream, Sse, Chunks, Churn, Session, Upload4K, Upload1M, Tls, TlsChurn, H2, Fairness,
    ];

    public static readonly IReadOnlyList<string> AllNames = [.. All.Select(s => s.Name)];
    public static Scenario Find(string name) => All.First(s => s.Name == name);
}
