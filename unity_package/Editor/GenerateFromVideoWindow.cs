// Window > AnimGen > Generate from Video.
using System.IO;
using AnimGen.Core;
using UnityEditor;
using UnityEngine;
using UnityEngine.Video;

namespace AnimGen.Editor
{
    internal sealed class GenerateFromVideoWindow : EditorWindow
    {
        const string PrefsPrefix = "AnimGen.Window.";
        static readonly GUIContent[] Generators = { new GUIContent("Network"), new GUIContent("Analytic") };

        string address;
        string token;
        string executable; // animgen for Start local server; empty: PATH
        string videoPath;
        string outputFolder;
        GenerateSettings settings;
        // Serialized with the window, so a script reload keeps it; SessionState keeps its GlobalObjectId for a
        // reopened window (instance IDs are deprecated from Unity 6.5 and removed in 6.6).
        [SerializeField] Animator target;
        string notice;
        // A Check waits for the server's answer, on a worker thread. Not kept over a script reload, which drops the
        // callback that would clear it (Unity keeps a window's private fields too).
        [System.NonSerialized] bool checking;
        Vector2 scroll;
        readonly ClipPreview preview = new ClipPreview();

        [MenuItem("Window/AnimGen/Generate from Video")]
        public static void Open()
        {
            var w = GetWindow<GenerateFromVideoWindow>();
            w.titleContent = new GUIContent("Generate from Video");
            w.minSize = new Vector2(360, 420);
            w.Show();
        }

        void OnEnable()
        {
            address = EditorPrefs.GetString(PrefsPrefix + "Address", AnimGenConnection.DefaultAddress);
            token = SessionState.GetString(PrefsPrefix + "Token", ""); // not written to disk
            executable = EditorPrefs.GetString(PrefsPrefix + "Executable", "");
            videoPath = ProjectValue("Video", "");
            outputFolder = ProjectValue("Output", "Assets/AnimGen");
            settings = GenerateSettings.Deserialize(ProjectValue("Settings", ""));
            if (target == null) target = FindTarget(SessionState.GetString(PrefsPrefix + "TargetObject", ""));
            JobRunner.Changed += Repaint;
        }

        void OnDisable()
        {
            JobRunner.Changed -= Repaint;
            preview.Stop();
            SaveFields();
        }

        // Ten times a second: a local server that ended on its own (its port taken, a crash) is told at once.
        void OnInspectorUpdate()
        {
            string ended = LocalServer.TakeEnded();
            if (ended == null) return;
            notice = ended;
            Repaint();
        }

        void SaveFields()
        {
            EditorPrefs.SetString(PrefsPrefix + "Address", address);
            SessionState.SetString(PrefsPrefix + "Token", token);
            EditorPrefs.SetString(PrefsPrefix + "Executable", executable);
            EditorUserSettings.SetConfigValue(PrefsPrefix + "Video", videoPath);
            EditorUserSettings.SetConfigValue(PrefsPrefix + "Output", outputFolder);
            EditorUserSettings.SetConfigValue(PrefsPrefix + "Settings", settings.Serialize());
            SessionState.SetString(PrefsPrefix + "TargetObject", target != null ? GlobalObjectId.GetGlobalObjectIdSlow(target).ToString() : "");
        }

        // The video, folder and options belong to a project (its UserSettings folder, this user's): kept machine-wide,
        // another project opened them with this one's Assets paths. Before 0.1.9 they were machine-wide: read once.
        static string ProjectValue(string name, string fallback)
        {
            return EditorUserSettings.GetConfigValue(PrefsPrefix + name) ?? EditorPrefs.GetString(PrefsPrefix + name, fallback);
        }

        static Animator FindTarget(string globalObjectId)
        {
            GlobalObjectId id;
            if (string.IsNullOrEmpty(globalObjectId) || !GlobalObjectId.TryParse(globalObjectId, out id)) return null;
            return GlobalObjectId.GlobalObjectIdentifierToObjectSlow(id) as Animator;
        }

        void OnGUI()
        {
            scroll = EditorGUILayout.BeginScrollView(scroll);
            JobStatus status = JobRunner.Status;
            bool busy = JobRunner.Busy;

            EditorGUILayout.LabelField("Server", EditorStyles.boldLabel);
            using (new EditorGUI.DisabledScope(busy))
            {
                address = EditorGUILayout.TextField(new GUIContent("Address", "host:port of `animgen serve`, or https://host:port"), address);
                token = EditorGUILayout.PasswordField(new GUIContent("Token", "Bearer token when the server requires one"), token);
            }
            using (new EditorGUI.DisabledScope(LocalServer.Running))
            {
                using (new EditorGUILayout.HorizontalScope())
                {
                    executable = EditorGUILayout.TextField(new GUIContent("animgen", "For Start local server: the animgen "
                        + "executable, or the AnimGen repository folder (its .venv is searched); empty: from PATH"), executable);
                    // A folder, not the file: file dialogs hide .venv on macOS and Linux, and the repository folder finds it.
                    if (GUILayout.Button(new GUIContent("Browse", "Pick the AnimGen repository folder"), GUILayout.Width(60)))
                    {
                        string folder = EditorUtility.OpenFolderPanel("AnimGen repository (or the folder holding animgen)",
                            FolderOf(executable), "");
                        if (!string.IsNullOrEmpty(folder)) executable = folder;
                        GUIUtility.ExitGUI(); // as after every modal dialog in OnGUI: the layout groups around it are left unbalanced
                    }
                }
            }
            using (new EditorGUILayout.HorizontalScope())
            {
                using (new EditorGUI.DisabledScope(checking))
                {
                    if (GUILayout.Button(new GUIContent("Check", "Ask the server for its version and limits"), GUILayout.Width(60)))
                        CheckServer();
                }
                GUILayout.FlexibleSpace();
                if (LocalServer.Running)
                {
                    if (GUILayout.Button("Stop local server", GUILayout.Width(140))) LocalServer.Stop();
                }
                else if (GUILayout.Button(new GUIContent("Start local server", "Runs `animgen serve` on the address's port"), GUILayout.Width(140)))
                {
                    notice = LocalServer.Start(address, token, executable);
                }
            }

            EditorGUILayout.Space();
            EditorGUILayout.LabelField("Video", EditorStyles.boldLabel);
            using (new EditorGUI.DisabledScope(busy))
            {
                VideoPickerGUI();
                EditorGUILayout.Space();
                EditorGUILayout.LabelField("Options", EditorStyles.boldLabel);
                settings.Hands = EditorGUILayout.Toggle(new GUIContent("Hands", "Track hands and animate the finger bones"), settings.Hands);
                settings.Analytic = EditorGUILayout.Popup(new GUIContent("Generator", "The neural network, or the analytic "
                    + "solver that poses each frame by geometry"), settings.Analytic ? 1 : 0, Generators) == 1;
                settings.Smoothing = EditorGUILayout.Slider("Smoothing", settings.Smoothing, 0f, 1f);
                settings.Trim = EditorGUILayout.Toggle("Trim", settings.Trim);
                if (settings.Trim)
                {
                    EditorGUI.indentLevel++;
                    settings.StartSeconds = EditorGUILayout.FloatField("Start (s)", settings.StartSeconds);
                    settings.EndSeconds = EditorGUILayout.FloatField("End (s)", settings.EndSeconds);
                    EditorGUI.indentLevel--;
                }
                settings.Crop = EditorGUILayout.Toggle(new GUIContent("Crop", "Look for the person in this part of the "
                    + "picture, in pixels of the video as played, and follow them (it moves, and grows, with them when they "
                    + "near its edge): for a video with other people in it"), settings.Crop);
                if (settings.Crop)
                {
                    EditorGUI.indentLevel++;
                    settings.CropX = EditorGUILayout.IntField("X (left)", settings.CropX);
                    settings.CropY = EditorGUILayout.IntField("Y (top)", settings.CropY);
                    settings.CropWidth = EditorGUILayout.IntField("Width", settings.CropWidth);
                    settings.CropHeight = EditorGUILayout.IntField("Height", settings.CropHeight);
                    EditorGUI.indentLevel--;
                }
                settings.InPlace = EditorGUILayout.Toggle(new GUIContent("In place", "Remove horizontal motion"), settings.InPlace);
                settings.Loop = EditorGUILayout.Toggle(new GUIContent("Loop", "Blend the end into the start"), settings.Loop);
                settings.FaceForward = EditorGUILayout.Toggle(new GUIContent("Face forward", "Turn the clip so that the "
                    + "character faces forward on its first frame"), settings.FaceForward);
                settings.FootLock = EditorGUILayout.Toggle(new GUIContent("Foot locking", "Keep planted feet still"), settings.FootLock);
                settings.Footsteps = EditorGUILayout.Toggle(new GUIContent("Footstep events", "An Animation Event where each "
                    + "foot lands, calling the function below with \"Left\" or \"Right\": a script on the character must have it"), settings.Footsteps);
                if (settings.Footsteps)
                {
                    EditorGUI.indentLevel++;
                    settings.FootstepFunction = EditorGUILayout.TextField(new GUIContent("Function", "Default OnFootstep, the "
                        + "name Unity's Starter Assets third-person controller plays its footstep sounds from"), settings.FootstepFunction);
                    EditorGUI.indentLevel--;
                }
                settings.UseVideoFps = EditorGUILayout.Toggle("Video's frame rate", settings.UseVideoFps);
                if (!settings.UseVideoFps) settings.Fps = EditorGUILayout.FloatField("Frame rate", settings.Fps);

                EditorGUILayout.Space();
                EditorGUILayout.LabelField("Output", EditorStyles.boldLabel);
                target = (Animator)EditorGUILayout.ObjectField(new GUIContent("Target character", "A Humanoid character in the scene to preview on"),
                    target, typeof(Animator), true);
                if (target != null && (target.avatar == null || !target.avatar.isHuman))
                    EditorGUILayout.HelpBox("The target's Animator needs a Humanoid Avatar.", MessageType.Warning);
                using (new EditorGUILayout.HorizontalScope())
                {
                    outputFolder = EditorGUILayout.TextField("Folder", outputFolder);
                    if (GUILayout.Button("...", GUILayout.Width(28))) PickOutputFolder();
                }
            }

            foreach (string problem in settings.Problems()) EditorGUILayout.HelpBox(problem, MessageType.Error);

            EditorGUILayout.Space();
            using (new EditorGUILayout.HorizontalScope())
            {
                using (new EditorGUI.DisabledScope(busy || settings.Problems().Count > 0 || string.IsNullOrEmpty(videoPath)))
                {
                    if (GUILayout.Button("Generate", GUILayout.Height(26)))
                    {
                        string existing = ExistingClip();
                        bool go = existing == null || EditorUtility.DisplayDialog("Replace clip?", existing + " exists. Replace " +
                            "it with the new take? What uses it will play the new take; changes made to it by hand are lost.",
                            "Replace", "Cancel");
                        string refused = go && existing != null ? HumanoidClipBuilder.ReplaceProblem(existing) : null;
                        if (refused != null) notice = refused; // before the upload, not after the job
                        else if (go)
                        {
                            SaveFields();
                            preview.Stop();
                            JobRunner.Generate(new JobRequest
                            {
                                Address = address, Token = token, VideoPath = videoPath, OutputFolder = outputFolder,
                                Settings = settings.Serialize(),
                            });
                        }
                        if (existing != null) GUIUtility.ExitGUI(); // a modal dialog inside OnGUI leaves the layout unbalanced
                    }
                }
                using (new EditorGUI.DisabledScope(!(status.Starting || status.NeedsWatching)))
                {
                    if (GUILayout.Button("Cancel", GUILayout.Height(26), GUILayout.Width(80))) JobRunner.Cancel();
                }
            }

            Rect bar = GUILayoutUtility.GetRect(18, 18, "TextField");
            EditorGUI.ProgressBar(bar, status.Progress, status.Phase == JobPhase.Failed ? "Failed" : status.Describe());
            if (status.Phase == JobPhase.Failed) EditorGUILayout.HelpBox(status.Message, MessageType.Error);
            if (status.Phase == JobPhase.Waiting) EditorGUILayout.HelpBox(status.Message, MessageType.Info); // the queue is full
            if (status.Lost.Length > 0) EditorGUILayout.HelpBox(status.Lost, MessageType.Warning); // waiting for the server
            // A job Cancel could not stop on the server (it could not be reached): its id, to cancel it there later.
            if (status.Phase == JobPhase.Cancelled && status.Message.Length > 0) EditorGUILayout.HelpBox(status.Message, MessageType.Warning);
            // What the server read of the video, as the CLI says it (nothing from an older server, which does not tell).
            string read = status.Phase == JobPhase.Succeeded ? JobStatus.FramesRead(status.Frames, status.DetectedShare) : "";
            if (read.Length > 0) EditorGUILayout.LabelField(read);
            foreach (string w in status.Warnings) EditorGUILayout.HelpBox(w, MessageType.Warning);
            if (!string.IsNullOrEmpty(notice)) EditorGUILayout.HelpBox(notice, MessageType.Info);

            AnimationClip clip = JobRunner.LastClip;
            if (clip != null)
            {
                EditorGUILayout.Space();
                EditorGUILayout.LabelField("Result", EditorStyles.boldLabel);
                EditorGUILayout.ObjectField("Clip", clip, typeof(AnimationClip), false);
                preview.OnGUI(clip, target);
            }
            EditorGUILayout.EndScrollView();
        }

        void VideoPickerGUI()
        {
            // A VideoClip asset in the project, or any file on disk (Browse...), or drag and drop either.
            VideoClip asset = null;
            if (!string.IsNullOrEmpty(videoPath) && videoPath.StartsWith("Assets/")) asset = AssetDatabase.LoadAssetAtPath<VideoClip>(videoPath);
            var picked = (VideoClip)EditorGUILayout.ObjectField("Video clip", asset, typeof(VideoClip), false);
            if (picked != asset) videoPath = picked != null ? AssetDatabase.GetAssetPath(picked) : "";
            using (new EditorGUILayout.HorizontalScope())
            {
                videoPath = EditorGUILayout.TextField("File", videoPath); // typed or pasted paths too
                if (GUILayout.Button("Browse", GUILayout.Width(60)))
                {
                    string file = EditorUtility.OpenFilePanelWithFilters("Video to animate", FolderOf(videoPath),
                        new[] { "Video", "mp4,mov,avi,mkv,webm,m4v,mpg,mpeg,mts,m2ts,3gp,wmv" });
                    if (!string.IsNullOrEmpty(file)) videoPath = file;
                    GUIUtility.ExitGUI();
                }
            }
            Rect drop = GUILayoutUtility.GetRect(0, 36, GUILayout.ExpandWidth(true));
            GUI.Box(drop, "Drop a video here", EditorStyles.helpBox);
            Event e = Event.current;
            if ((e.type == EventType.DragUpdated || e.type == EventType.DragPerform) && drop.Contains(e.mousePosition))
            {
                string dropped = DroppedVideo();
                DragAndDrop.visualMode = dropped != null ? DragAndDropVisualMode.Copy : DragAndDropVisualMode.Rejected;
                if (e.type == EventType.DragPerform && dropped != null)
                {
                    DragAndDrop.AcceptDrag();
                    videoPath = dropped;
                }
                e.Use();
            }
        }

        // The server's version and limits in the notice, asked on a worker thread (up to 10 s) so that the Editor carries
        // on; the answer is applied on the main thread, and only while the window is open.
        void CheckServer()
        {
            string problem = ServerAddress.Problem(address) ?? BearerToken.Problem(token);
            if (problem != null) { notice = problem; return; }
            checking = true;
            string a = address, t = token;
            notice = "Asking " + (string.IsNullOrWhiteSpace(a) ? AnimGenConnection.DefaultAddress : a.Trim()) + "...";
            System.Threading.Tasks.Task.Run(async () =>
            {
                string answer;
                using (var c = new AnimGenConnection(a, t))
                {
                    try
                    {
                        var info = await c.GetServerInfoAsync(JobRunner.UntilReload);
                        long mb = info.Limits != null ? info.Limits.MaxUploadBytes >> 20 : 0;
                        answer = "AnimGen " + info.ServerVersion + " at " + c.Address + ": protocol " + info.ProtocolVersion
                            + ", backend " + info.Backend + ", uploads up to " + mb + " MB.";
                    }
                    catch (System.Exception e) { answer = c.Describe(e); }
                }
                JobRunner.Post(() =>
                {
                    if (this == null) return; // closed meanwhile
                    checking = false;
                    notice = answer;
                    Repaint();
                });
            });
        }

        /// <summary>The folder of a path for a file panel to open in; "" where there is none (Mono's
        /// Path.GetDirectoryName throws on an empty or malformed path, which would break OnGUI).</summary>
        static string FolderOf(string path)
        {
            if (string.IsNullOrWhiteSpace(path)) return "";
            try { return Path.GetDirectoryName(path) ?? ""; }
            catch (System.ArgumentException) { return ""; }
        }

        static string DroppedVideo()
        {
            foreach (Object o in DragAndDrop.objectReferences)
                if (o is VideoClip) return AssetDatabase.GetAssetPath(o);
            foreach (string p in DragAndDrop.paths)
                if (VideoUpload.LooksLikeVideo(p)) return p;
            return null;
        }

        // The clip a run would replace, or null. A re-run replaces it in place (references stay valid), which also
        // drops edits made to it by hand, so the window asks first; batch mode replaces without asking, as a build must.
        string ExistingClip()
        {
            try
            {
                string path = ClipPaths.ForVideo(outputFolder, videoPath);
                return AssetDatabase.LoadMainAssetAtPath(path) != null ? path : null;
            }
            catch (System.ArgumentException) { return null; } // the job refuses the folder or name by itself
        }

        void PickOutputFolder()
        {
            string abs = EditorUtility.OpenFolderPanel("Folder for generated clips", Application.dataPath, "");
            if (!string.IsNullOrEmpty(abs))
            {
                string project = Path.GetFullPath(Path.Combine(Application.dataPath, "..")).Replace('\\', '/');
                abs = abs.Replace('\\', '/');
                if (abs == project + "/Assets" || abs.StartsWith(project + "/Assets/")) outputFolder = abs.Substring(project.Length + 1);
                else notice = "The output folder must be inside this project's Assets folder.";
            }
            GUIUtility.ExitGUI();
        }
    }
}
