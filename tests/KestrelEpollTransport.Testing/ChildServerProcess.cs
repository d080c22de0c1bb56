using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Testing;

/// <summary>
/// A server in a child process (the sample site, <c>Stress serve</c>), for what must happen to a whole process: a
/// fresh process's threads, an inherited socket, a lowered fd limit, SIGTERM, its own CPU time and memory in /proc.
/// Its stdout and stderr lines are kept and echoed to the test's output; the first line matching the server's
/// "listening" line gives <see cref="ListeningOn"/>. Dispose kills it if a test has not stopped it.
/// </summary>
/// <remarks>Each server says in its own words where it listens, so each has a sealed subclass with its regex.</remarks>
public abstract class ChildServerProcess : IDisposable, IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ITestOutputHelper _output;

    /// <summary>What prefixes its lines in the test's output, and names it in messages.</summary>
    private readonly string _name;

    /// <summary>
    /// Starts <paramref name="start"/> (its streams are redirected here). <paramref name="listeningLine"/> matches the
    /// line that says where it listens: group 1 the IPv4 address, group 2 the port.
    /// </summary>
    protected ChildServerProcess(ProcessStartInfo start, ITestOutputHelper output, string name, Regex listeningLine)
    {
        _output = output;
        _name = name;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;
        start.UseShellExecute = false;
        Process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start.");
        Process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            Log(e.Data);
            var match = listeningLine.Match(e.Data);
            if (match.Success)
            {
                ListeningOn.TrySetResult(new IPEndPoint(IPAddress.Parse(match.Groups[1].Value), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture)));
            }
        };
        Process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Log("stderr: " + e.Data);
            }
        };
        Process.Exited += (_, _) => ListeningOn.TrySetException(new InvalidOperationException($"{_name} exited with {Process.ExitCode} before listening."));
        Process.EnableRaisingEvents = true;
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    /// <summary>The dotnet host running the tests (so a child runs on the same runtime), else dotnet from PATH.</summary>
    public static string DotnetHost =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    /// <summary>The child process.</summary>
    public Process Process { get; }

    /// <summary>The process id, as /proc names it.</summary>
    public string Pid => Process.Id.ToString(CultureInfo.InvariantCulture);

    /// <summary>The first TCP address it reported listening on; fails if it exits before.</summary>
    public TaskCompletionSource<IPEndPoint> ListeningOn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Every line it printed so far (stderr lines start with "stderr: ").</summary>
    public IReadOnlyCollection<string> Lines => _lines;

    /// <summary>The lines so far that contain <paramref name="text"/>.</summary>
    public int CountLines(string text) => _lines.Count(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>Sends SIGTERM: a graceful stop, as a service manager asks for one.</summary>
    public void Terminate() => PosixSignal.Send(Process.Id, PosixSignal.SIGTERM);

    /// <summary>Waits for the process to exit, at most <paramref name="timeout"/>; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await Process.WaitForExitAsync().WithTimeout(timeout);
        // The exit event can come before the last redirected lines; this waits for them (the process has exited).
        Process.WaitForExit();
        return Process.ExitCode;
    }

    /// <summary>Stops it as a service manager would (SIGTERM) and waits for it to exit; kills it if it does not in time.</summary>
    public async Task StopAsync()
    {
        if (Process.HasExited)
        {
            return;
        }
        Terminate();
        try
        {
            await WaitForExitAsync(Timeouts.Default);
        }
        catch (TimeoutException)
        {
            Process.Kill(entireProcessTree: true);
            throw;
        }
    }

    /// <summary>Kills it if it still runs, and releases it.</summary>
    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }
        Process.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Kills it if it still runs, waits (bounded) until it is gone, and releases it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync().WithTimeout();
        }
        Process.Dispose();
        GC.SuppressFinalize(this);
    }

    private void Log(string line)
    {
        _lines.Enqueue(line);
        try
        {
            _output.WriteLine($"{_name}: {line}");
        }
        catch (InvalidOperationException)
        {
            // The test has ended; the child's last lines have nowhere to go.
        }
    }
}
