namespace TransportBench.Running;

/// <summary>The noise rule (--max-noise): a timed run during which other processes took more than that share of the
/// server's CPU is measured again, twice at most, and the quietest attempt is kept. On a shared machine another
/// tenant's build can take a third of the server's CPU for a minute; requests/s of such a round says more about the
/// tenant.</summary>
internal static class NoiseRetry
{
    /// <summary>Measurements of one round at most: the first and two repeats.</summary>
    public const int MaxAttempts = 3;

    /// <summary>Measures with <paramref name="measure"/> until a run is quiet enough or attempts run out.</summary>
    /// <param name="note">Says why a run is measured again.</param>
    public static async Task<RoundSample> MeasureAsync(Func<Task<RoundSample>> measure, int maxNoisePercent, Action<string> note)
    {
        RoundSample best = await measure();
        for (int attempt = 2; attempt <= MaxAttempts && best.Cpu is { } cpu && cpu.ForeignPercent > maxNoisePercent; attempt++)
        {
            note(Format.Inv($"noisy: other processes took {cpu.ForeignPercent:0}% of the server CPU; measuring again ({attempt}/{MaxAttempts})"));
            RoundSample again = await measure();
            again.Attempts = attempt;
            if (again.Cpu is { } quieter && quieter.ForeignPercent < cpu.ForeignPercent)
            {
                best = again;
            }
            else
            {
                best.Attempts = attempt;
            }
        }
        return best;
    }
}
