using System.Collections.Concurrent;

namespace TransportBench.Servers;

/// <summary>The outcome of one external command (wrk, h2load, perf, git, dotnet publish).</summary>
/// <param name="ExitCode">Its exit status; -1 when it was killed for running past its limit.</param>
internal sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    public bool TimedOut => ExitCode == -1;
    /// <summary>The last lines of both streams, for an error message.</summary>
    public string Tail(int lines = 15) =>
        string.Join('\n', (Stdout + "\n" + Stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(lines));

    /// <summary>The error a run of <paramref name="tool"/> that produced nothing usable is reported with.</summary>
    public InvalidOperationException Failure(string tool) => new($"{tool} failed (exit {ExitCode}{(TimedOut ? ", timed out" : "")}):\n{Tail()}");
}

/// <summary>Every process the runner starts, so that none outlives it: on exit, Ctrl+C and SIGTERM all are killed.</summary>
internal static class ChildProcesses
{
    // Concurrent: registered from any thread, killed from the exit handlers. Keyed by the object, not the pid: a
    // disposed Process no longer knows its pid.
    private static readonly ConcurrentDictionary<Process, bool> Running = new();
    // Set once the runner is being stopped: from then on nothing new starts. The run's own flow keeps going on other
    // threads while the exit handlers kill, and would otherwise start the next server after the last kill.
    private static volatile bool s_closed;

    /// <summary>Starts a child with its output redirected, <paramref name="environment"/>'s variables set (value) or
    /// removed (null), and registers it in the same step.</summary>
    /// <exception cref="OperationCanceledException">The runner is stopping.</exception>
    public static Process Start(
        string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null, bool redirectInput = false)
    {
        var startInfo = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardInput = redirectInput, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach ((string name, string? value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                startInfo.Environment.Remove(name);
            }
            else
            {
                startInfo.Environment[name] = value;
            }
        }
        if (s_closed)
        {
            throw new OperationCanceledException("The runner is stopping.");
        }
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        Running[process] = true;
        if (s_closed)
        {
            // Lost the race with KillAll's last pass.
            Kill(process);
            throw new OperationCanceledException("The runner is stopping.");
        }
        return process;
    }

    /// <summary>Runs an external command to completion, bounded in time, killed on cancellation.</summary>
    public static async Task<ToolResult> RunAsync(
        string fileName, IEnumerable<string> arguments, TimeSpan limit, CancellationToken cancellationToken, string? workingDirectory = null)
    {
        using Process process = Start(fileName, arguments, workingDirectory: workingDirectory);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        Task<string> stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        bool timedOut = false;
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = !cancellationToken.IsCancellationRequested;
            Kill(process);
            if (!timedOut)
            {
                throw;
            }
        }
        var result = new ToolResult(timedOut ? -1 : process.ExitCode, await stdout, await stderr);
        Running.TryRemove(process, out _);
        return result;
    }

    /// <summary>Whether a program is on PATH.</summary>
    public static bool Exists(string program) => (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
        .Split(':', StringSplitOptions.RemoveEmptyEntries).Any(dir => File.Exists(Path.Combine(dir, program)));

    /// <summary>Kills one process tree if it still runs and forgets it.</summary>
    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill, or its owner disposed it meanwhile: nothing left to do.
        }
        Running.TryRemove(process, out _);
    }

    /// <summary>Kills every child and lets no new one start.</summary>
    public static void KillAll()
    {
        s_closed = true;
        while (!Running.IsEmpty)
        {
            foreach (Process process in Running.Keys)
            {
                Kill(process);
            }
        }
    }
}
