using System.Runtime.InteropServices;
using TransportBench.Cli;
using TransportBench.Fairness;
using TransportBench.Floor;
using TransportBench.Running;
using TransportBench.Servers;

// TransportBench: see Cli/BenchOptions.cs for the flags and docs/benchmarks.md for what it measures and why.
if (args.Length > 0 && args[0] == FloorChild.Flag)
{
    return await FloorChild.RunAsync(args[1..]);
}
if (args.Length > 0 && args[0] == FairnessChild.Flag)
{
    return FairnessChild.Run(args[1..]);
}
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}
BenchOptions? options = BenchOptions.Parse(args, out string? error);
if (options is null)
{
    Console.Error.WriteLine(error);
    return 2;
}

// Ctrl+C: the first stops the run (children killed, partial results written); a second one exits at once.
// Lives as long as the process, so it is never disposed.
var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (!stop.IsCancellationRequested)
    {
        e.Cancel = true;
        Console.Error.WriteLine("\nStopping: killing servers and load generators…");
        stop.Cancel();
    }
    ChildProcesses.KillAll();
};
// SIGTERM and SIGHUP would end the process without running the exit handlers: handle them as a first Ctrl+C.
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var onHangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Stop);
AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcesses.KillAll();
try
{
    return await BenchRunner.RunAsync(options, stop.Token);
}
finally
{
    ChildProcesses.KillAll();
}

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    Console.Error.WriteLine($"\n{context.Signal}: killing servers and load generators…");
    stop.Cancel();
    ChildProcesses.KillAll();
}
