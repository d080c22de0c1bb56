using TransportBench;

// The runner's load helper (HelperProtocol.cs), started and pinned by the runner; not a tool to run by hand.
FloorHost? floor = null;
try
{
    while (await Console.In.ReadLineAsync() is string line)
    {
        HelperJob job = HelperProtocol.Read<HelperJob>(line) ?? throw new InvalidOperationException($"Not a job: {line}");
        HelperReply reply = job switch
        {
            { Floor: { } f } => new HelperReply(Floor: await (floor ??= await FloorHost.StartAsync(f.SampleDirectory)).MeasureAsync(f)),
            { Fairness: { } f } => new HelperReply(Fairness: new FairnessClient(f.Port, Scenario.Find(f.Scenario).Path).Run(TimeSpan.FromSeconds(f.Seconds))),
            _ => new HelperReply(Error: $"A job with no work: {line}"),
        };
        Console.WriteLine(HelperProtocol.Prefix + HelperProtocol.Write(reply));
    }
}
finally
{
    await (floor?.DisposeAsync() ?? ValueTask.CompletedTask);
}
return 0;
