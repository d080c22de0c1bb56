using Stress.Cli;
using Stress.Client;
using Stress.Server;

// The stress tool. One binary is both ends, so a test can run the server as a child process (under a lowered fd
// limit, or to send it SIGTERM) and drive it from another process:
//   Stress serve [--port 0] [--transport epoll|sockets] [--threads N] [--shutdown-timeout 10] [--max-open-files N]
//                [--start-timer-thread 1]
//   Stress run   [--url http://127.0.0.1:PORT | --transport epoll|sockets] [--clients 16] [--duration 60]
//                [--op-timeout 30] [--max-size 8388608] [--seed N] [--ops get,echo,...]
// `run` without --url starts the server in this process. It exits 0 only if exchanges ran and none failed.
// See docs/reliability.md.
try
{
    return args.FirstOrDefault() switch
    {
        "serve" => await StressServer.ServeAsync(ServeOptions.Parse(new Arguments(args.Skip(1)))),
        "run" => await RunAsync(StressRunOptions.Parse(new Arguments(args.Skip(1)))),
        _ => Usage(),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"stress: {e.Message}");
    return 2;
}

static async Task<int> RunAsync(StressRunOptions options)
{
    StressServer? server = null;
    if (options.EndPoint is null)
    {
        server = await StressServer.StartAsync(new ServeOptions { Transport = options.Transport }, Microsoft.Extensions.Logging.LogLevel.Warning);
        options.EndPoint = server.EndPoint;
        Console.WriteLine($"stress: serving in-process on http://{server.EndPoint} ({options.Transport})");
    }
    try
    {
        var runner = new StressRunner(options, options.EndPoint);
        int exitCode = await runner.RunAndReportAsync(Console.Out);
        if (server is not null)
        {
            await server.StopAsync();
            long errors = server.Endpoints.UnexpectedErrors;
            Console.WriteLine($"stress: server-side unexpected handler errors: {errors}");
            exitCode = errors == 0 ? exitCode : 1;
        }
        return exitCode;
    }
    finally
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}

static int Usage()
{
    Console.Error.WriteLine("usage: Stress serve [options] | Stress run [options]  (see docs/reliability.md)");
    return 2;
}
