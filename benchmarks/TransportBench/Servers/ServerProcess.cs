namespace TransportBench.Servers;

/// <summary>What a server says about itself in its start line; <paramref name="Gc"/> is "server" or "workstation".</summary>
internal sealed record ServerIdentity(string Transport, int ProcessorCount, string Gc);

/// <summary>A server that did not come up (build missing, crash at start, no start line): skipped for the rest of the run.</summary>
internal sealed class ServerStartException(string message) : Exception(message);

/// <summary>One SampleWeb process, pinned to the server CPUs, ready when it logs its start line; disposing kills it.</summary>
internal sealed partial class ServerProcess : ChildProcess
{
    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(30);
    private readonly TaskCompletionSource<ServerIdentity> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ServerSetup _setup;

    private ServerProcess(ServerSpec spec, ServerSetup setup, string sampleDirectory, CoreLayout cores, string countersSocket)
        : base(cores.ServerCpus, Arguments(spec, setup, sampleDirectory), ServerEnvironment(spec, countersSocket), sampleDirectory, keepLines: 40)
    {
        (_setup, CountersSocket) = (setup, countersSocket);
        Process.OutputDataReceived += (_, e) => OnLine(e.Data);
        Process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        Process.EnableRaisingEvents = true;
        Process.Exited += (_, _) =>
        {
            // Let the output readers reach end of file first, so the tail holds the exception that ended it.
            Process.WaitForExit(2000);
            _ready.TrySetException(new ServerStartException(
                $"{spec.Name} exited with code {SafeExitCode()} before it was ready. Its last output:\n{OutputTail()}"));
        };
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    /// <summary>The Unix socket where the server's startup hook answers with its counters (CounterReader).</summary>
    public string CountersSocket { get; }
    /// <summary>The HTTP/1.1 control endpoint: the load of HTTP/1.1 scenarios.</summary>
    public int Port => _setup.ControlPort;
    public string BaseUrl => _setup.ControlUrl;
    /// <summary>Where a scenario's load goes: <see cref="BaseUrl"/>, or the TLS or h2c endpoint.</summary>
    public string LoadUrl(Scenario scenario) => _setup.LoadUrl(scenario);
    public ServerIdentity Identity => _ready.Task.Result;

    /// <summary>Starts the server and waits for its start line.</summary>
    /// <exception cref="ServerStartException">It exited or did not start in time; the message holds its output.</exception>
    public static async Task<ServerProcess> StartAsync(
        ServerSpec spec, ServerSetup setup, string sampleDirectory, CoreLayout cores, CancellationToken cancellationToken)
    {
        string countersSocket = Path.Combine(Path.GetTempPath(), $"transportbench-{Guid.NewGuid():N}.sock");
        var server = new ServerProcess(spec, setup, sampleDirectory, cores, countersSocket);
        try
        {
            await server._ready.Task.WaitAsync(StartLimit, cancellationToken);
        }
        catch (TimeoutException)
        {
            server.Dispose();
            throw new ServerStartException(
                $"{spec.Name} did not log its start line within {StartLimit.TotalSeconds} s. Its last output:\n{server.OutputTail()}");
        }
        catch
        {
            server.Dispose();
            throw;
        }
        return server;
    }

    public override void Dispose()
    {
        base.Dispose();
        File.Delete(CountersSocket);
    }

    private static List<string> Arguments(ServerSpec spec, ServerSetup setup, string sampleDirectory) =>
    [
        Path.Combine(sampleDirectory, "SampleWeb.dll"), "--transport", spec.Transport!, .. spec.Arguments,
        // The setup's last: the later of two equal keys wins, and fairness's one loop must win over --threads.
        .. setup.Arguments,
    ];

    /// <summary>The spec's environment, and the startup hook the runner's counters come from (CounterReader).</summary>
    private static Dictionary<string, string?> ServerEnvironment(ServerSpec spec, string countersSocket) => new(spec.Environment)
    {
        ["DOTNET_STARTUP_HOOKS"] = Path.Combine(AppContext.BaseDirectory, "TransportBench.StatsHook.dll"),
        [ServerCounters.SocketVariable] = countersSocket,
    };

    private void OnLine(string? line)
    {
        Remember(line);
        // SampleWeb's start line: "Transport: …; ProcessorCount N; server GC True; listening on …". It is logged once
        // Kestrel listens (ApplicationStarted), which is what "ready" means here.
        if (line is not null && StartLine().Match(line) is { Success: true } match)
        {
            _ready.TrySetResult(new ServerIdentity(match.Groups["transport"].Value,
                int.Parse(match.Groups["cpus"].Value, CultureInfo.InvariantCulture), match.Groups["gc"].Value == "True" ? "server" : "workstation"));
        }
    }

    /// <summary>The exit code, or "?" once the process is disposed (Exited can fire after a kill).</summary>
    private string SafeExitCode()
    {
        try
        {
            return Process.ExitCode.ToString(CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    [GeneratedRegex(@"Transport: (?<transport>.+); ProcessorCount (?<cpus>\d+); server GC (?<gc>True|False)")]
    private static partial Regex StartLine();
}
