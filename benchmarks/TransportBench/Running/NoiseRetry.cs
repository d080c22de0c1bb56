namespace TransportBench.Running;

/// <summary>The noise rule (--max-noise): a noisy timed run is measured again, twice at most; the quietest is kept.</summary>
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
