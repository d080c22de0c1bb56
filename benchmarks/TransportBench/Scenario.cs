namespace TransportBench;

/// <summary>How a scenario loads the server.</summary>
internal enum ScenarioKind
{
    /// <summary>wrk as fast as it goes: requests/s at saturation.</summary>
    Throughput,

    /// <summary>h2load at a fixed offered rate: latency percentiles and CPU per request at equal load.</summary>
    FixedRate,

    /// <summary>The runner opens many keep-alive connections and leaves them idle: RSS per connection.</summary>
    Idle,
}

/// <summary>One load shape against one endpoint of SampleWeb.</summary>
/// <param name="Name">The name used by <c>--scenarios</c> and in reports.</param>
/// <param name="Path">The request path.</param>
/// <param name="Connections">Concurrent keep-alive connections.</param>
/// <param name="PipelineDepth">Requests written back to back before reading responses (1: no pipelining).</param>
/// <param name="Kind">How the load is generated.</param>
/// <param name="Title">A line for reports.</param>
internal sealed record Scenario(string Name, string Path, int Connections, int PipelineDepth, ScenarioKind Kind, string Title)
{
    public static readonly Scenario Page = new("page", "/", 64, 1, ScenarioKind.Throughput, "magedu page `/`, 64 connections");
    public static readonly Scenario Plaintext = new("plaintext", "/plaintext", 256, 16, ScenarioKind.Throughput, "`/plaintext` pipelined 16 deep, 256 connections");
    public static readonly Scenario Json = new("json", "/json", 64, 1, ScenarioKind.Throughput, "`/json`, 64 connections");
    public static readonly Scenario Large = new("large", "/large", 16, 1, ScenarioKind.Throughput, "`/large` (1 MiB), 16 connections");
    public static readonly Scenario Latency = new("latency", "/", 64, 1, ScenarioKind.FixedRate, "magedu page `/` at a fixed offered rate, 64 connections");
    public static readonly Scenario Idle = new("idle", "/plaintext", 0, 1, ScenarioKind.Idle, "idle keep-alive connections (RSS per connection)");

    /// <summary>Every scenario, in the order a full run takes them (page first: latency's rate derives from it).</summary>
    public static readonly IReadOnlyList<Scenario> All = [Page, Plaintext, Json, Large, Latency, Idle];

    public static readonly IReadOnlyList<string> AllNames = [.. All.Select(s => s.Name)];

    public static Scenario Find(string name) => All.First(s => s.Name == name);
}
