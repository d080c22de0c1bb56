using TransportBench.Cli;
using TransportBench.Floor;
using TransportBench.Running;
using TransportBench.Servers;

// TransportBench: see Cli/BenchOptions.cs for the flags and docs/benchmarks.md for what it measures and why.
if (args.Length > 0 && args[0] == FloorChild.Flag)
{
    return await FloorChild.RunAsync(args[1..]);
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
using var stop = new CancellationTokenSource();
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
AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcesses.KillAll();
try
{
    return await BenchRunner.RunAsync(options, stop.Token);
}
finally
{
    ChildProcesses.KillAll();
}
