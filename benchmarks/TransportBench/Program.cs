using System.CommandLine;
using System.Runtime.InteropServices;

// TransportBench (docs/benchmarks.md). A wrong option or value is reported with exit code 2 before anything runs.
var command = new BenchCommand(CpuList.Available());
ParseResult parsed = command.Root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine($"TransportBench: {error.Message}");
    }
    Console.Error.WriteLine("TransportBench: see `TransportBench --help` for the options and their defaults.");
    return 2;
}

// Ctrl+C: the first stops the run (children killed, partial results written); a second one exits at once.
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
command.Root.SetAction((result, _) => BenchRunner.RunAsync(command.Bind(result), Console.Out, stop.Token));
try
{
    // ProcessTerminationTimeout null: the signals above are ours to handle (partial results are still written);
    // System.CommandLine would otherwise end the process 2 s after the first.
    return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
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
