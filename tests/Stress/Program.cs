using System.CommandLine;
using Stress.Cli;

// The stress tool. One binary is both ends, so a test can run the server as a child process (under a lowered fd
// limit, or to send it SIGTERM) and drive it from another process: `Stress serve [options]`, `Stress run [options]`.
// `Stress --help` lists every option with its default; a wrong option or value is reported with exit code 2.
// See docs/reliability.md.
var root = new RootCommand("The epoll transport's stress tool: a server (serve) and a checking client (run), in one binary.")
{
    ServeCommand.Create(),
    RunCommand.Create(),
};
HelpForEveryCommand.Install(root);

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine($"stress: {error.Message}");
    }
    Console.Error.WriteLine("stress: see `Stress --help` for the commands and their options.");
    return 2;
}
// ProcessTerminationTimeout null: SIGTERM is the host's to handle (`serve` stops gracefully, waiting for requests in
// flight up to --shutdown-timeout); System.CommandLine would otherwise end the process 2 s after it.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
