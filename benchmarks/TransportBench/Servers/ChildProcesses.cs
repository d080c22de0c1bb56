using System.Collections.Concurrent;
using System.Diagnostics;

namespace TransportBench.Servers;

/// <summary>
/// Every process the runner starts, so that none outlives it: on normal exit, on Ctrl+C (the runner cancels, then
/// kills) and on SIGTERM (ProcessExit) all of them are killed with their process trees.
/// </summary>
internal static class ChildProcesses
{
    // Guarded by being a concurrent dictionary: registered from any thread, killed from the exit handlers.
    private static readonly ConcurrentDictionary<int, Process> Running = new();

    public static void Register(Process process) => Running[process.Id] = process;

    public static void Unregister(Process process) => Running.TryRemove(process.Id, out _);

    /// <summary>Starts a process and registers it in one step.</summary>
    public static Process Start(ProcessStartInfo startInfo)
    {
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {startInfo.FileName}.");
        Register(process);
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
            // It exited between the check and the kill: nothing left to do.
        }
        Unregister(process);
    }

    public static void KillAll()
    {
        foreach (Process process in Running.Values)
        {
            Kill(process);
        }
    }
}
