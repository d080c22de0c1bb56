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
            // It exited between the check and the kill, or its owner disposed it meanwhile: nothing left to do.
        }
        Unregister(process);
    }

    public static void KillAll()
    {
        foreach (Process process in Running.Keys)
        {
            Kill(process);
        }
    }
}
