using static MMEureka.Torch.torch;

namespace MMEureka.Torch.Tests;

public class ThreadsTests
{
    [Fact]
    public void Parallel_shards_run_every_shard_single_threaded_and_keep_grad_mode()
    {
        const int count = 7;
        var ran = new int[count];
        var serial = new bool[count];
        var grad = new bool[count];
        var outputs = new float[count][];
        // Small whole numbers: every product and sum is exact, so shard results compare bit for bit.
        var x = tensor(Enumerable.Range(0, 4096).Select(i => (float)(i % 4)).ToArray(), 64, 64);
        using (no_grad())
        {
            parallel_shards(count, s =>
            {
                Interlocked.Increment(ref ran[s]);
                serial[s] = Threads.Serial;
                grad[s] = is_grad_enabled();
                outputs[s] = x.matmul(x.mul(s + 1)).data<float>();
            });
        }
        Assert.All(ran, r => Assert.Equal(1, r));
        Assert.All(serial, Assert.True);
        Assert.All(grad, Assert.False);
        Assert.False(Threads.Serial);
        var expected = x.matmul(x).data<float>();
        for (int s = 0; s < count; s++)
            Assert.Equal(expected.Select(v => v * (s + 1)), outputs[s]);

        parallel_shards(2, s => grad[s] = is_grad_enabled());
        Assert.True(grad[0] && grad[1]);
    }

    [Fact]
    public void Parallel_shards_rethrow_a_shards_exception()
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            parallel_shards(4, s => { if (s == 2) throw new InvalidOperationException("shard 2 failed"); }));
        Assert.Equal("shard 2 failed", e.Message);
        Assert.False(Threads.Serial);
    }

    [Fact]
    public void Core_team_runs_every_part_once_even_with_more_parts_than_cores_and_many_callers()
    {
        const int callers = 8, rounds = 200, parts = 5;
        int declined = 0, wrong = 0;
        var threads = Enumerable.Range(0, callers).Select(_ => new Thread(() =>
        {
            for (int r = 0; r < rounds; r++)
            {
                var ran = new int[parts];
                if (!CoreTeam.TryRun(parts, p => Interlocked.Increment(ref ran[p])))
                {
                    Interlocked.Increment(ref declined); // busy: the caller falls back to the thread pool
                    continue;
                }
                if (ran.Any(n => n != 1)) Interlocked.Increment(ref wrong);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(0, wrong);
        if (Environment.ProcessorCount > 1) Assert.True(declined < callers * rounds, "some calls must have run on the team");

        var e = Assert.Throws<ArgumentException>(() =>
        {
            if (!CoreTeam.TryRun(3, p => { if (p == 2) throw new ArgumentException("part 2"); })) throw new ArgumentException("part 2");
        });
        Assert.Equal("part 2", e.Message);
    }
}
