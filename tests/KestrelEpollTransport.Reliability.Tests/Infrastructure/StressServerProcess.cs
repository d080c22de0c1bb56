using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>
/// <c>Stress serve</c> in a child process (the same runtime as the tests): for what must happen to a whole
/// process — a lowered fd limit, SIGTERM, its own CPU time and memory in /proc — or needs more fds than one
/// process may hold. Its stdout lines are kept (warnings and errors carry their event ids) and echoed to the test.
/// </summary>
internal sealed partial class StressServerProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly TaskCompletionSource<IPEndPoint> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ITestOutputHelper _output;

    private StressServerProcess(Process process, ITestOutputHelper output)
    {
        Process = process;
        _output = output;
    }

    public Process Process { get; }

    /// <summary>The process id, as /proc names it.</summary>
    public string Pid => Process.Id.ToString(CultureInfo.InvariantCulture);

    /// <summary>Where it listens.</summary>
    public IPEndPoint EndPoint { get; private set; } = null!;

    /// <summary>Its stdout and stderr lines so far.</summary>
    public IReadOnlyCollection<string> Lines => _lines;

    /// <summary>Starts <c>Stress serve --port 0</c> with <paramref name="args"/> and waits until it listens.</summary>
    public static async Task<StressServerProcess> StartAsync(ITestOutputHelper output, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Stress.dll");
        var start = new ProcessStartInfo(DotnetHost(), ["exec", dll, "serve", "--port", "0", .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var server = new StressServerProcess(process, output);
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data is null ? null : "stderr: " + e.Data);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => server._listening.TrySetException(new InvalidOperationException("Stress serve exited before listening."));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            server.EndPoint = await server._listening.Task.WithTimeout();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>Lines that contain <paramref name="text"/>.</summary>
    public int CountLines(string text) => _lines.Count(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>Sends SIGTERM (a graceful stop, as a service manager does).</summary>
    public void Terminate() => PosixSignal.Send(Process.Id, PosixSignal.SIGTERM);

    /// <summary>Waits for the process to exit; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await Process.WaitForExitAsync().WithTimeout(timeout);
        // The exit event can come before the last redirected lines; this waits for them.
        Process.WaitForExit();
        return Process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync().WithTimeout();
        }
        Process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        _lines.Enqueue(line);
        var match = ListeningLine().Match(line);
        if (match.Success)
        {
            _listening.TrySetResult(new IPEndPoint(IPAddress.Parse(match.Groups[1].Value), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture)));
        }
        try
        {
            _output.WriteLine("server: " + line);
        }
        catch (InvalidOperationException)
        {
            // The test has ended; the server's last lines have nowhere to go.
        }
    }

    /// <summary>The dotnet host running the tests, so the child runs on the same runtime; else dotnet from PATH.</summary>
    private static string DotnetHost() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    [GeneratedRegex(@"stress-serve: listening on http://(\d+\.\d+\.\d+\.\d+):(\d+)")]
    private static partial Regex ListeningLine();
}
