using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using TransportBench.Cli;
using TransportBench.StatsHook;

namespace TransportBench.Servers;

/// <summary>What a server says about itself in its start line.</summary>
/// <param name="Transport">SampleWeb's description of its transport.</param>
/// <param name="ProcessorCount">Environment.ProcessorCount inside the server.</param>
/// <param name="Gc">"server" or "workstation".</param>
internal sealed record ServerIdentity(string Transport, int ProcessorCount, string Gc);

/// <summary>
/// One SampleWeb process on 127.0.0.1 and a free port, pinned to the server CPUs. Ready when it logs its start line;
/// a server that exits or stays silent instead fails with its last output lines. Disposing kills it.
/// </summary>
internal sealed partial class ServerProcess : IDisposable
{
    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(30);

    private readonly Process _process;

    private readonly LastLines _lastLines = new(40);

    private readonly TaskCompletionSource<ServerIdentity> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly ServerSetup _setup;

    private ServerProcess(Process process, ServerSetup setup, string countersSocket) =>
        (_process, _setup, CountersSocket) = (process, setup, countersSocket);

    /// <summary>The Unix socket where the server's startup hook answers with its counters (CounterReader).</summary>
    public string CountersSocket { get; }

    /// <summary>The HTTP/1.1 control port: the load of HTTP/1.1 scenarios.</summary>
    public int Port => _setup.ControlPort;

    public int Pid => _process.Id;

    /// <summary>The control endpoint's base URL, e.g. http://127.0.0.1:40123.</summary>
    public string BaseUrl => _setup.ControlUrl;

    /// <summary>Where a scenario's load goes: <see cref="BaseUrl"/>, or the TLS or h2c endpoint.</summary>
    public string LoadUrl(Scenario scenario) => _setup.LoadUrl(scenario);

    public ServerIdentity Identity => _ready.Task.Result;

    /// <summary>Starts the server and waits for its start line.</summary>
    /// <exception cref="ServerStartException">It exited or did not start in time; the message holds its output.</exception>
    public static async Task<ServerProcess> StartAsync(
        ServerSpec spec, ServerSetup setup, string sampleDirectory, CoreLayout cores, CancellationToken cancellationToken)
    {
        var arguments = new List<string>
        {
            Path.Combine(sampleDirectory, "SampleWeb.dll"),
            "--transport", spec.Transport!,
        };
        arguments.AddRange(spec.Arguments);
        // The setup's last: the later of two equal keys wins, and fairness's one loop must win over --threads.
        arguments.AddRange(setup.Arguments);
        (string fileName, List<string> pinned) = CoreLayout.Pin(cores.ServerCpus, DotnetHost.Path, arguments);
        ProcessStartInfo startInfo = ChildProcesses.StartInfo(fileName, pinned, spec.Environment, sampleDirectory);
        startInfo.RedirectStandardInput = true;
        // The runner's counters come from a startup hook in the server (CounterReader), not from an endpoint of the app.
        string countersSocket = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"transportbench-{Guid.NewGuid():N}.sock");
        startInfo.Environment["DOTNET_STARTUP_HOOKS"] = System.IO.Path.Combine(AppContext.BaseDirectory, "TransportBench.StatsHook.dll");
        startInfo.Environment[ServerCounters.SocketVariable] = countersSocket;

        var server = new ServerProcess(ChildProcesses.Start(startInfo), setup, countersSocket);
        server._process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        server._process.EnableRaisingEvents = true;
        server._process.Exited += (_, _) =>
        {
            // Let the output readers reach end of file first, so the tail holds the exception that ended it.
            server._process.WaitForExit(2000);
            server._ready.TrySetException(new ServerStartException(
                $"{spec.Name} exited with code {server.SafeExitCode()} before it was ready. Its last output:\n{server.OutputTail()}"));
        };
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();

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

    /// <summary>The server's last output lines.</summary>
    public string OutputTail() => _lastLines.ToString();

    public bool HasExited => _process.HasExited;

    public void Dispose()
    {
        ChildProcesses.Kill(_process);
        _process.Dispose();
        File.Delete(CountersSocket);
    }

    private void OnLine(string? line)
    {
        _lastLines.Add(line);
        if (line is null)
        {
            return;
        }
        // SampleWeb's start line: "Transport: …; ProcessorCount N; server GC True; listening on …". It is logged once
        // Kestrel listens (ApplicationStarted), which is what "ready" means here.
        Match match = StartLine().Match(line);
        if (match.Success)
        {
            _ready.TrySetResult(new ServerIdentity(
                match.Groups["transport"].Value,
                int.Parse(match.Groups["cpus"].Value, CultureInfo.InvariantCulture),
                match.Groups["gc"].Value == "True" ? "server" : "workstation"));
        }
    }

    private string SafeExitCode()
    {
        try
        {
            return _process.ExitCode.ToString(CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    [GeneratedRegex(@"Transport: (?<transport>.+); ProcessorCount (?<cpus>\d+); server GC (?<gc>True|False)")]
    private static partial Regex StartLine();
}
