// Preview of the generated clip on the target character in the Scene view: AnimationMode samples the clip
// without changing the scene (everything reverts when the preview stops), with a scrubber and Play.
using UnityEditor;
using UnityEngine;

namespace AnimGen.Editor
{
    internal sealed class ClipPreview
    {
        float time;
        bool playing;
        double lastTick;
        AnimationClip clip;
        Animator target;
        AnimationModeDriver driver;

        /// <summary>Our own hold on AnimationMode: the Animation window's or Timeline's preview is not ours to show
        /// as on, to sample into or to stop.</summary>
        AnimationModeDriver Driver
        {
            get
            {
                if (driver == null)
                {
                    driver = ScriptableObject.CreateInstance<AnimationModeDriver>();
                    driver.hideFlags = HideFlags.HideAndDontSave;
                }
                return driver;
            }
        }

        public void OnGUI(AnimationClip newClip, Animator newTarget)
        {
            if (newTarget == null || newTarget.avatar == null || !newTarget.avatar.isHuman)
            {
                EditorGUILayout.HelpBox("Pick a Humanoid target character to preview the clip in the Scene view.", MessageType.Info);
                Stop();
                return;
            }
            if (newClip != clip || newTarget != target) { Stop(); clip = newClip; target = newTarget; }
            bool on = AnimationMode.InAnimationMode(Driver);
            using (new EditorGUILayout.HorizontalScope())
            {
                bool wanted = GUILayout.Toggle(on, "Preview", "Button", GUILayout.Width(70));
                if (wanted && !on) Start();
                if (!wanted && on) Stop();
                using (new EditorGUI.DisabledScope(!AnimationMode.InAnimationMode(Driver)))
                {
                    playing = GUILayout.Toggle(playing, playing ? "Pause" : "Play", "Button", GUILayout.Width(60));
                    float t = EditorGUILayout.Slider(time, 0f, clip.length);
                    if (!Mathf.Approximately(t, time)) { time = t; playing = false; Sample(); }
                }
            }
        }

        void Start()
        {
            AnimationMode.StartAnimationMode(Driver);
            lastTick = EditorApplication.timeSinceStartup;
            EditorApplication.update -= Tick; // once, however often the preview is turned on
            EditorApplication.update += Tick;
            Sample();
        }

        public void Stop()
        {
            playing = false;
            EditorApplication.update -= Tick;
            if (driver == null) return;
            if (AnimationMode.InAnimationMode(driver)) AnimationMode.StopAnimationMode(driver);
            // HideAndDontSave: nothing else frees it, and it outlives the window and script reloads.
            UnityEngine.Object.DestroyImmediate(driver);
            driver = null;
        }

        void Tick()
        {
            double now = EditorApplication.timeSinceStartup;
            float dt = (float)(now - lastTick);
            lastTick = now;
            if (!playing || clip == null) return;
            time += dt;
            if (time > clip.length) time = clip.isLooping ? time % Mathf.Max(clip.length, 1e-3f) : 0f;
            Sample();
        }

        void Sample()
        {
            if (clip == null || target == null || !AnimationMode.InAnimationMode(Driver)) return;
            AnimationMode.BeginSampling();
            AnimationMode.SampleAnimationClip(target.gameObject, clip, time);
            AnimationMode.EndSampling();
            SceneView.RepaintAll();
        }
    }
}
