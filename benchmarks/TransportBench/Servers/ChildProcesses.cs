using System.Collections.Concurrent;
using System.Diagnostics;

namespace TransportBench.Servers;

/// <summary>
/// Every process the runner starts, so that none outlives it: on normal exit, on Ctrl+C (the runner cancels, then
/// kills) and on SIGTERM (ProcessExit) all of them are killed with their process trees.
/// </summary>
internal static class ChildProcesses
{
    // Concurrent: registered from any thread, killed from the exit handlers. Keyed by the object, not the pid: a
    // disposed Process no longer knows its pid.
    private static readonly ConcurrentDictionary<Process, bool> Running = new();

    public static void Register(Process process) => Running[process] = true;

    public static void Unregister(Process process) => Running.TryRemove(process, out _);

    // Set once the runner is being stopped: from then on nothing new starts. The run's own flow keeps going on other
    // threads while the exit handlers kill, and would otherwise start the next server after the last kill.
    private static volatile bool s_closed;

    /// <summary>
    /// How the runner starts every child: its output read by the runner, <paramref name="environment"/>'s variables set
    /// (value) or removed (null).
    /// </summary>
    public static ProcessStartInfo StartInfo(
        string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var startInfo = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
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
        return startInfo;
    }

    /// <summary>Starts a process and registers it in one step; refuses once the runner is stopping.</summary>
    /// <exception cref="OperationCanceledException">The runner is stopping.</exception>
    public static Process Start(ProcessStartInfo startInfo)
    {
        if (s_closed)
        {
            throw new OperationCanceledException("The runner is stopping.");
        }
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {startInfo.FileName}.");
        Register(process);
        if (s_closed)
        {
            // Lost the race with KillAll's last pass.
            Kill(process);
            throw new OperationCanceledException("The runner is stopping.");
        }
        return process;
    }

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
        Unregister(process);
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
