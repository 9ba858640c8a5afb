// Installed by SPARK before a test run: one log line per finished test, so the build farm can
// report progress while Unity's batch mode, which prints nothing per test, is running.
#if UNITY_EDITOR
using System.Threading;
using UnityEditor;
using UnityEditor.TestTools.TestRunner.Api;
using UnityEngine;

namespace Spark.Editor
{
    [InitializeOnLoad]
    public static class SparkTestReporter
    {
        static SparkTestReporter()
        {
            ScriptableObject.CreateInstance<TestRunnerApi>().RegisterCallbacks(new Callbacks());
        }

        private sealed class Callbacks : ICallbacks
        {
            private int _total;
            private int _done;

            public void RunStarted(ITestAdaptor testsToRun)
            {
                _total = testsToRun.TestCaseCount;
                _done = 0;
                Debug.Log($"[SparkTests] started {_total}");
            }

            public void RunFinished(ITestResultAdaptor result)
            {
                Debug.Log($"[SparkTests] run finished {result.TestStatus}");
            }

            public void TestStarted(ITestAdaptor test)
            {
            }

            public void TestFinished(ITestResultAdaptor result)
            {
                if (result.Test.IsSuite)
                {
                    return;
                }
                var done = Interlocked.Increment(ref _done);
                Debug.Log($"[SparkTests] finished {result.Test.FullName} {result.TestStatus} ({done}/{_total})");
            }
        }
    }
}
#endif
