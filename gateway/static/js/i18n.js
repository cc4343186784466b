// The demo's two languages, 中文 and English: every string the page shows, t(key, params), and
// the switch. The choice is kept in localStorage; the default is the browser's first language
// that is Chinese (zh*) or English, else English. Static text in index.html names its key in
// data-i18n (text), data-i18n-placeholder, data-i18n-title or data-i18n-aria-label; text that
// the scripts write is kept in the current language by show() / bind(), redone on every switch.

const STORAGE = "faceflow-lang";
export const LANGUAGES = { zh: "中文", en: "English" };
const HTML_LANG = { zh: "zh-CN", en: "en" };

// An entry is a string with {name} parameters, or [one, other] chosen by params.count.
const en = {
  "title": "FaceFlow demo",
  "header.checking": "checking…",
  "header.ready": "ready · {services}",
  "header.notReady": "not ready",
  "header.apiKey": "API key",
  "header.apiKeyPlaceholder": "x-api-key (printed by make run)",
  "header.rememberKey": "remember on this computer",
  "header.language": "Language",
  "service.detection": "detection",
  "service.embedding": "embedding",
  "service.liveness": "liveness",
  "service.attributes": "attributes",
  "nav.label": "Demos",
  "tab.detect": "Detect",
  "tab.enroll": "Enroll",
  "tab.search": "Search",
  "tab.verify": "Verify",
  "tab.liveness": "Liveness",
  "tab.console": "Gallery",
  "picker.photo": "Photo",
  "picker.photoA": "Photo A",
  "picker.photoB": "Photo B",
  "picker.choose": "Choose file",
  "picker.snap": "Take photo",
  "picker.needPhoto": "Choose a photo or take one with the camera first.",
  "picker.unreadable": "The browser cannot display this file.",
  "json": "Response JSON",
  "sep": ", ",
  "paren": " ({text})",
  "n.faces": ["{count} face", "{count} faces"],
  "n.users": ["{count} user", "{count} users"],
  "noFace": "No face found in this photo.",

  "detect.title": "Detect faces",
  "detect.hint": "Boxes, five landmarks, and optionally the 468-point mesh and attributes, drawn over the photo.",
  "detect.extras": "Extras",
  "detect.mesh": "mesh",
  "detect.age": "age",
  "detect.gender": "gender",
  "detect.emotion": "emotion",
  "detect.pose": "pose",
  "detect.quality": "quality",
  "detect.run": "Detect",
  "detect.busy": "Detecting…",
  "detect.found": "{faces} found in {ms} ms.",
  "detect.row": "Face {n}: {width}×{height} px, score {score}",
  "detect.meshPoints": "mesh {count} points",
  "attr.age": "age {age}",
  "attr.yaw": "yaw {yaw}°",
  "attr.quality": "quality {quality}",
  "value.female": "female",
  "value.male": "male",
  "value.angry": "angry",
  "value.disgust": "disgust",
  "value.fear": "fear",
  "value.happy": "happy",
  "value.sad": "sad",
  "value.surprise": "surprise",
  "value.neutral": "neutral",

  "enroll.title": "Enroll a person",
  "enroll.hint": "Adds the photo's face to a group (created if needed) under the person's id.",
  "enroll.group": "Group",
  "enroll.user": "Person id",
  "enroll.userPlaceholder": "e.g. alice",
  "enroll.info": "Info",
  "enroll.infoPlaceholder": "optional, e.g. Alice Zhang",
  "enroll.quality": "Quality check",
  "enroll.qualityDefault": "server default",
  "enroll.qualityNONE": "NONE",
  "enroll.qualityLOW": "LOW",
  "enroll.qualityNORMAL": "NORMAL",
  "enroll.qualityHIGH": "HIGH",
  "enroll.run": "Enroll",
  "enroll.missing": "Fill in the group and the person's id.",
  "enroll.busy": "Enrolling…",
  "enroll.done": "Enrolled {user} into {group} (face {face}).",
  "enroll.userRow": "{user}{info} — {faces}",

  "console.title": "Gallery console",
  "console.hint": "Your app's groups, people and faces. Thumbnails appear for faces enrolled while your app keeps them (an administrator's setting, off by default).",
  "console.newGroup": "New group",
  "console.newGroupPlaceholder": "e.g. demo-group",
  "console.create": "Create group",
  "console.refresh": "Refresh",
  "console.groups": "Groups",
  "console.users": "People",
  "console.prev": "Previous",
  "console.next": "Next",
  "console.perPage": "Per page",
  "console.pageOf": "Page {page} of {pages} · {users}",
  "console.noGroups": "No groups yet: create one above.",
  "console.pickGroup": "Choose or create a group.",
  "console.noUsers": "Nobody is enrolled in this group yet: drop a folder of photos below.",
  "console.delete": "Delete",
  "console.deleteUser": "Delete person",
  "console.deleteFace": "Delete this face",
  "console.deleteGroupLabel": "Delete group {group}",
  "console.deleteUserLabel": "Delete {user}",
  "console.deleteFaceLabel": "Delete a face of {user}",
  "console.thumbnailAlt": "Face of {user}",
  "console.noThumbnail": "no thumbnail",
  "console.noThumbnailHint": "Enrolled while your app kept no thumbnails",
  "console.faceTitle": "Face {token}, enrolled {when}",
  "console.confirmGroup": "Delete the group {group} with its {users} and all their faces? This cannot be undone.",
  "console.confirmUser": "Delete {user} and {faces}? This cannot be undone.",
  "console.confirmFace": "Delete this face of {user}? This cannot be undone.",
  "console.kept": "Nothing was deleted.",
  "console.created": "Created the group {group}.",
  "console.deletedGroup": "Deleted the group {group}.",
  "console.deletedUser": "Deleted {user}.",
  "console.deletedFace": "Deleted a face of {user}.",
  "console.needGroupId": "Type the new group's id first.",
  "console.needGroup": "Choose or create a group first: the photos are enrolled into it.",
  "console.noPhotos": "No photos there (JPEG, PNG, WebP or BMP).",
  "console.enrollTitle": "Enroll a folder",
  "console.dropHint": "Drop a folder of photos here to enroll it into the selected group: photos in subfolders belong to the person named like the subfolder (alice/1.jpg), other photos to the person named like the file without its extension (bob.jpg).",
  "console.chooseFolder": "Choose folder",
  "console.chooseFiles": "Choose photos",
  "console.enrolling": "Enrolling photo {n} of {total} into {group}…",
  "console.enrolled": "Enrolled {enrolled} of {total} photos into {group}; {failed} failed, {skipped} other files skipped.",
  "console.fileError": "{file} (person {user}): {error}",

  "search.title": "Search a group",
  "search.hint": "Who is in this photo? Every face is matched against the group's people (scores 0–100).",
  "search.groups": "Group(s)",
  "search.groupsPlaceholder": "comma separated",
  "search.run": "Search",
  "search.missing": "Fill in the group(s) to search.",
  "search.busy": "Searching…",
  "search.unknown": "unknown",
  "search.row": "Face {n}: {matches}",
  "search.match": "{user}{info} in {group}: {score}",
  "search.matchSep": "; ",
  "search.noMatch": "no match above the threshold",
  "search.summary": "{faces}, {known} recognised (threshold {threshold}: at most {fpir} of strangers matched among {users}).",

  "verify.title": "Verify two photos",
  "verify.hint": "Are these the same person? The score is compared with thresholds at fixed false-accept rates.",
  "verify.run": "Compare",
  "verify.busy": "Comparing…",
  "verify.same": "Same person",
  "verify.different": "Different people",
  "verify.threshold": "FAR {far}: {score}",
  "verify.summary": "Score {score} / 100 (cosine {cosine}). Thresholds: {thresholds}.",

  "liveness.title": "Liveness",
  "liveness.hint": "Guided session: follow the prompts in front of the camera; the recorded frames are checked for each action.",
  "liveness.start": "Start liveness session",
  "liveness.starting": "Starting the camera…",
  "liveness.step": "Action {n} of {total}",
  "liveness.follow": "Follow the prompt…",
  "liveness.checking": "Checking…",
  "liveness.recorded": "{count} frames recorded",
  "liveness.checkingRecording": "Checking the recording…",
  "liveness.frame": " (frame {frame})",
  "liveness.live": "Live person ✔",
  "liveness.notLive": "Not confirmed as live ✘",
  "liveness.score": "liveness score {score}",
  "liveness.confirmed": "Liveness confirmed.",
  "liveness.notConfirmed": "Liveness not confirmed: see the actions below.",
  "liveness.passiveTitle": "Passive check of one photo",
  "liveness.check": "Check photo",
  "liveness.passiveBusy": "Checking the photo…",
  "liveness.passiveResult": "{verdict}: score {score} (threshold {threshold}).",
  "liveness.passiveLive": "Live",
  "liveness.passiveSpoof": "Spoof",
  "prompt.blink": "Blink your eyes",
  "prompt.turn_left": "Turn your head to your left",
  "prompt.turn_right": "Turn your head to your right",
  "prompt.nod": "Nod your head",
  "prompt.shake_head": "Shake your head",
  "prompt.open_mouth": "Open your mouth",
  "prompt.smile": "Smile",
  "prompt.look_up": "Look up",
  "prompt.look_down": "Look down",
  "reason.NO_FACE_IN_FRAMES": "No face in {count} of {total} frames",
  "reason.MULTIPLE_FACES": "More than one face in frames {frames}{more}",
  "reason.FACE_CHANGED": "A different face in frames {frames}{more}",
  "reason.moreFrames": " (+{count} more)",
  "reason.ACTION_NOT_SEEN": "Action not seen: {action}",
  "reason.SPOOF_SUSPECTED": "Looks like a photo or screen, not a live face",
  "reason.format": "{text} ({code})",

  "camera.title": "Camera",
  "camera.start": "Start camera",
  "camera.stop": "Stop camera",
  "camera.on": "Camera on: use “Take photo” in any flow.",
  "camera.unsupported": "This browser cannot use a camera here (it needs HTTPS or localhost).",
  "camera.unavailable": "The camera is not available: {detail}",
  "camera.stopped": "The camera stopped before a frame was taken: start it again.",

  // Errors: one message per code of the public contract (shared/API.md).
  "error.UNAUTHENTICATED": "The API key is missing or wrong: paste the key that `make run` printed (also in var/demo-api-key.txt).",
  "error.RATE_LIMITED": "Too many requests for this key: wait a moment and try again.",
  "error.INVALID_IMAGE": "That file is not a readable JPEG, PNG, WebP or BMP image.",
  "error.IMAGE_TOO_LARGE": "The image is too large (bytes or pixels): use a smaller photo.",
  "error.NO_FACE": "No face was found in the photo: use a photo where the face is clearly visible.",
  "error.TOO_MANY_FACES": "There is more than one face: use a photo of one person only.",
  "error.LOW_QUALITY": "The face is too small, blurred, dark or turned away: take a sharper, frontal photo.",
  "error.GROUP_NOT_FOUND": "That group does not exist: enroll someone into it first.",
  "error.USER_NOT_FOUND": "That user is not enrolled in the group.",
  "error.FACE_NOT_FOUND": "That face is not in the gallery (it may have been deleted).",
  "error.ALREADY_EXISTS": "That already exists (the same photo enrolled twice for a person, or an existing group).",
  "error.SESSION_NOT_FOUND": "The liveness session is unknown or was used already: start a new one.",
  "error.SESSION_EXPIRED": "The liveness session expired: start a new one and follow the prompts sooner.",
  "error.SESSION_ALREADY_USED": "This liveness session was checked already (sessions are single use): start a new one.",
  "error.SERVICE_UNAVAILABLE": "A FaceFlow model service is not running right now: try again shortly.",
  "error.DEADLINE_EXCEEDED": "A FaceFlow model service did not answer in time: try again.",
  "error.INVALID_ARGUMENT": "The request was not valid",
  "error.NOT_FOUND": "The server does not know this endpoint (is the service deployed?).",
  "error.INTERNAL": "The server failed unexpectedly; the request id is in its logs.",
  "error.NETWORK": "Cannot reach the FaceFlow server: is it running?",
  "error.BAD_RESPONSE": "The server's answer is not FaceFlow's (a proxy in between?): {detail}",
  // {message}: the text above; {detail}: the server's own message (English), {code}: the code.
  "error.withDetail": "{message} — {detail} ({code})",
  "error.plain": "{message} ({code})",
  "error.unknown": "Request failed — {detail} ({code})",
  "error.tooltip": "Server: {detail} · request {requestId}",
  "error.retryAfter": "Try again in {seconds} s.",
};

const zh = {
  "title": "FaceFlow 演示",
  "header.checking": "检查中…",
  "header.ready": "就绪 · {services}",
  "header.notReady": "未就绪",
  "header.apiKey": "API 密钥",
  "header.rememberKey": "在本机记住",
  "header.apiKeyPlaceholder": "x-api-key（由 make run 打印）",
  "header.language": "语言",
  "service.detection": "人脸检测",
  "service.embedding": "特征提取",
  "service.liveness": "活体检测",
  "service.attributes": "属性分析",
  "nav.label": "演示",
  "tab.detect": "检测",
  "tab.enroll": "注册",
  "tab.search": "搜索",
  "tab.verify": "比对",
  "tab.liveness": "活体检测",
  "tab.console": "人脸库",
  "picker.photo": "照片",
  "picker.photoA": "照片 A",
  "picker.photoB": "照片 B",
  "picker.choose": "选择文件",
  "picker.snap": "拍照",
  "picker.needPhoto": "请先选择一张照片，或用摄像头拍一张。",
  "picker.unreadable": "浏览器无法显示这个文件。",
  "json": "响应 JSON",
  "sep": "，",
  "paren": "（{text}）",
  "n.faces": "{count} 张人脸",
  "n.users": "{count} 个用户",
  "noFace": "这张照片中没有找到人脸。",

  "detect.title": "人脸检测",
  "detect.hint": "在照片上画出人脸框和五个关键点，还可选 468 点面部网格和人脸属性。",
  "detect.extras": "附加项",
  "detect.mesh": "网格",
  "detect.age": "年龄",
  "detect.gender": "性别",
  "detect.emotion": "表情",
  "detect.pose": "姿态",
  "detect.quality": "质量",
  "detect.run": "检测",
  "detect.busy": "检测中…",
  "detect.found": "找到 {faces}，用时 {ms} 毫秒。",
  "detect.row": "人脸 {n}：{width}×{height} 像素，得分 {score}",
  "detect.meshPoints": "网格 {count} 个点",
  "attr.age": "{age} 岁",
  "attr.yaw": "偏航角 {yaw}°",
  "attr.quality": "质量 {quality}",
  "value.female": "女",
  "value.male": "男",
  "value.angry": "生气",
  "value.disgust": "厌恶",
  "value.fear": "害怕",
  "value.happy": "开心",
  "value.sad": "难过",
  "value.surprise": "惊讶",
  "value.neutral": "平静",

  "enroll.title": "注册人员",
  "enroll.hint": "把照片中的人脸以该用户 ID 加入用户组（用户组不存在时自动创建）。",
  "enroll.group": "用户组",
  "enroll.user": "用户 ID",
  "enroll.userPlaceholder": "例如 alice",
  "enroll.info": "用户信息",
  "enroll.infoPlaceholder": "可选，例如 张爱丽",
  "enroll.quality": "质量检查",
  "enroll.qualityDefault": "服务器默认",
  "enroll.qualityNONE": "不检查 (NONE)",
  "enroll.qualityLOW": "低 (LOW)",
  "enroll.qualityNORMAL": "中 (NORMAL)",
  "enroll.qualityHIGH": "高 (HIGH)",
  "enroll.run": "注册",
  "enroll.missing": "请填写用户组和用户 ID。",
  "enroll.busy": "注册中…",
  "enroll.done": "已将 {user} 注册到用户组 {group}（人脸 {face}）。",
  "enroll.userRow": "{user}{info} — {faces}",

  "console.title": "人脸库管理",
  "console.hint": "本应用的用户组、人员和人脸。只有在应用开启“保存缩略图”设置（由管理员开启，默认关闭）期间注册的人脸才显示缩略图。",
  "console.newGroup": "新用户组",
  "console.newGroupPlaceholder": "例如 demo-group",
  "console.create": "创建用户组",
  "console.refresh": "刷新",
  "console.groups": "用户组",
  "console.users": "人员",
  "console.prev": "上一页",
  "console.next": "下一页",
  "console.perPage": "每页",
  "console.pageOf": "第 {page} / {pages} 页 · {users}",
  "console.noGroups": "还没有用户组：请在上方创建。",
  "console.pickGroup": "请选择或创建一个用户组。",
  "console.noUsers": "这个用户组还没有注册任何人：把照片文件夹拖到下方即可注册。",
  "console.delete": "删除",
  "console.deleteUser": "删除此人",
  "console.deleteFace": "删除这张人脸",
  "console.deleteGroupLabel": "删除用户组 {group}",
  "console.deleteUserLabel": "删除 {user}",
  "console.deleteFaceLabel": "删除 {user} 的一张人脸",
  "console.thumbnailAlt": "{user} 的人脸",
  "console.noThumbnail": "无缩略图",
  "console.noThumbnailHint": "注册时应用没有开启保存缩略图",
  "console.faceTitle": "人脸 {token}，注册于 {when}",
  "console.confirmGroup": "删除用户组 {group} 及其中的 {users} 和他们的全部人脸？此操作无法撤销。",
  "console.confirmUser": "删除 {user} 及其 {faces}？此操作无法撤销。",
  "console.confirmFace": "删除 {user} 的这张人脸？此操作无法撤销。",
  "console.kept": "没有删除任何内容。",
  "console.created": "已创建用户组 {group}。",
  "console.deletedGroup": "已删除用户组 {group}。",
  "console.deletedUser": "已删除 {user}。",
  "console.deletedFace": "已删除 {user} 的一张人脸。",
  "console.needGroupId": "请先填写新用户组的 ID。",
  "console.needGroup": "请先选择或创建一个用户组：照片会注册到其中。",
  "console.noPhotos": "其中没有照片（JPEG、PNG、WebP 或 BMP）。",
  "console.enrollTitle": "批量注册文件夹",
  "console.dropHint": "把照片文件夹拖到这里，即可注册到所选用户组：子文件夹中的照片归入与子文件夹同名的人员，其余照片归入与文件名（不含扩展名）同名的人员。",
  "console.chooseFolder": "选择文件夹",
  "console.chooseFiles": "选择照片",
  "console.enrolling": "正在注册第 {n} / {total} 张照片到 {group}…",
  "console.enrolled": "已将 {total} 张照片中的 {enrolled} 张注册到 {group}；{failed} 张失败，跳过 {skipped} 个其他文件。",
  "console.fileError": "{file}（人员 {user}）：{error}",

  "search.title": "在用户组中搜索",
  "search.hint": "照片里是谁？每张人脸都与用户组中的人员比对（得分 0–100）。",
  "search.groups": "用户组",
  "search.groupsPlaceholder": "多个用逗号分隔",
  "search.run": "搜索",
  "search.missing": "请填写要搜索的用户组。",
  "search.busy": "搜索中…",
  "search.unknown": "未知",
  "search.row": "人脸 {n}：{matches}",
  "search.match": "{user}{info}（用户组 {group}）：{score}",
  "search.matchSep": "；",
  "search.noMatch": "没有超过阈值的匹配",
  "search.summary": "{faces}，识别出 {known} 张（阈值 {threshold}：{users}中陌生人被误认的比例不超过 {fpir}）。",

  "verify.title": "比对两张照片",
  "verify.hint": "是同一个人吗？得分会与固定误识率下的阈值比较。",
  "verify.run": "比对",
  "verify.busy": "比对中…",
  "verify.same": "同一个人",
  "verify.different": "不是同一个人",
  "verify.threshold": "误识率 {far}：{score}",
  "verify.summary": "得分 {score} / 100（余弦相似度 {cosine}）。阈值：{thresholds}。",

  "liveness.title": "活体检测",
  "liveness.hint": "引导式检测：在摄像头前按提示做动作，录下的画面会逐个动作检查。",
  "liveness.start": "开始活体检测",
  "liveness.starting": "正在打开摄像头…",
  "liveness.step": "第 {n} 个动作，共 {total} 个",
  "liveness.follow": "请按提示做动作…",
  "liveness.checking": "检测中…",
  "liveness.recorded": "已录制 {count} 帧",
  "liveness.checkingRecording": "正在检测录制的画面…",
  "liveness.frame": "（第 {frame} 帧）",
  "liveness.live": "真人 ✔",
  "liveness.notLive": "未确认为真人 ✘",
  "liveness.score": "活体得分 {score}",
  "liveness.confirmed": "活体检测通过。",
  "liveness.notConfirmed": "活体检测未通过：请查看下方各动作的结果。",
  "liveness.passiveTitle": "单张照片静默检测",
  "liveness.check": "检测照片",
  "liveness.passiveBusy": "正在检测照片…",
  "liveness.passiveResult": "{verdict}：得分 {score}（阈值 {threshold}）。",
  "liveness.passiveLive": "真人",
  "liveness.passiveSpoof": "假体",
  "prompt.blink": "请眨眨眼",
  "prompt.turn_left": "请向左转头",
  "prompt.turn_right": "请向右转头",
  "prompt.nod": "请点点头",
  "prompt.shake_head": "请摇摇头",
  "prompt.open_mouth": "请张开嘴",
  "prompt.smile": "请微笑",
  "prompt.look_up": "请抬头",
  "prompt.look_down": "请低头",
  "reason.NO_FACE_IN_FRAMES": "{total} 帧中有 {count} 帧没有人脸",
  "reason.MULTIPLE_FACES": "第 {frames} 帧{more}中有不止一张人脸",
  "reason.FACE_CHANGED": "第 {frames} 帧{more}中换了一张脸",
  "reason.moreFrames": "及另外 {count} 帧",
  "reason.ACTION_NOT_SEEN": "没有看到动作：{action}",
  "reason.SPOOF_SUSPECTED": "像是照片或屏幕，而不是真人",
  "reason.format": "{text}（{code}）",

  "camera.title": "摄像头",
  "camera.start": "打开摄像头",
  "camera.stop": "关闭摄像头",
  "camera.on": "摄像头已打开：在任一功能中点“拍照”即可。",
  "camera.unsupported": "这个浏览器在此无法使用摄像头（需要 HTTPS 或 localhost）。",
  "camera.unavailable": "摄像头不可用：{detail}",
  "camera.stopped": "拍摄画面前摄像头已关闭：请重新打开摄像头。",

  "error.UNAUTHENTICATED": "API 密钥缺失或错误：请粘贴 `make run` 打印的密钥（也保存在 var/demo-api-key.txt）。",
  "error.RATE_LIMITED": "此密钥的请求过于频繁：请稍等片刻再试。",
  "error.INVALID_IMAGE": "这个文件不是可读取的 JPEG、PNG、WebP 或 BMP 图片。",
  "error.IMAGE_TOO_LARGE": "图片太大（文件大小或像素数）：请换一张小一些的照片。",
  "error.NO_FACE": "照片中没有找到人脸：请使用人脸清晰可见的照片。",
  "error.TOO_MANY_FACES": "照片中不止一张人脸：请使用只有一个人的照片。",
  "error.LOW_QUALITY": "人脸太小、模糊、太暗或没有正对镜头：请拍一张更清晰的正面照。",
  "error.GROUP_NOT_FOUND": "该用户组不存在：请先向其中注册人员。",
  "error.USER_NOT_FOUND": "该用户没有注册在这个用户组中。",
  "error.FACE_NOT_FOUND": "人脸库中没有这张人脸（可能已被删除）。",
  "error.ALREADY_EXISTS": "已经存在（同一张照片为同一人注册了两次，或用户组已存在）。",
  "error.SESSION_NOT_FOUND": "活体检测会话不存在或已用过：请重新开始。",
  "error.SESSION_EXPIRED": "活体检测会话已过期：请重新开始，并尽快按提示做动作。",
  "error.SESSION_ALREADY_USED": "这个活体检测会话已经检测过（每个会话只能用一次）：请重新开始。",
  "error.SERVICE_UNAVAILABLE": "FaceFlow 的某个模型服务暂时没有运行：请稍后再试。",
  "error.DEADLINE_EXCEEDED": "FaceFlow 的某个模型服务没有及时响应：请重试。",
  "error.INVALID_ARGUMENT": "请求无效：{detail}",
  "error.NOT_FOUND": "服务器不认识这个接口（服务部署了吗？）。",
  "error.INTERNAL": "服务器发生意外错误；请求 ID 记在服务器日志中。",
  "error.NETWORK": "无法连接 FaceFlow 服务器：它在运行吗？",
  "error.BAD_RESPONSE": "服务器的回答不是 FaceFlow 的（中间有代理？）：{detail}",
  // The server's message is English: shown in the tooltip, inline only for INVALID_ARGUMENT
  // (it names the field) and for codes this page does not know.
  "error.withDetail": "{message}（{code}）",
  "error.plain": "{message}（{code}）",
  "error.unknown": "请求失败：{detail}（{code}）",
  "error.tooltip": "服务器：{detail} · 请求 {requestId}",
  "error.retryAfter": "请 {seconds} 秒后再试。",
};

export const STRINGS = { en, zh };

let current = "en";
const renderers = new Map();

/** The language in use: "zh" or "en". */
export function language() { return current; }

/** Is there a string for key (in the language in use)? */
export function has(key) { return key in STRINGS[current]; }

/** The string for key in the language in use, {name} replaced by params[name]. */
export function t(key, params = {}) {
  let entry = STRINGS[current][key] ?? en[key];
  if (entry === undefined) return key;
  if (Array.isArray(entry)) entry = entry[params.count === 1 ? 0 : 1];
  return entry.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name] ?? "") : match));
}

/** An Error whose message is a key: shown in the language in use, also after a switch. */
export class LocalizedError extends Error {
  constructor(key, params = {}) {
    super(t(key, params));
    this.key = key;
    this.params = params;
  }
}

/** The browser's preferred language that we have ("zh" for any zh-*), else English. */
export function browserLanguage(languages = navigator.languages && navigator.languages.length
  ? navigator.languages : [navigator.language || ""]) {
  for (const tag of languages) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (base in STRINGS) return base;
  }
  return "en";
}

function stored() {
  try { return localStorage.getItem(STORAGE); } catch { return null; }
}

/** Run render(element) now and again after every language switch (null: stop). */
export function bind(element, render) {
  if (!render) { renderers.delete(element); return; }
  delete element.dataset.i18n; // its text is no longer the static one
  renderers.set(element, render);
  render(element);
}

/** Show text in element: a function of the language (redone on a switch) or a plain string. */
export function show(element, text) {
  if (typeof text === "function") bind(element, (node) => { node.textContent = text(); });
  else { bind(element, null); element.textContent = text; }
}

/** Put the strings of the language in use into the page's data-i18n elements and attributes. */
export function translatePage(root = document) {
  for (const element of root.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const attribute of ["placeholder", "title", "aria-label"]) {
    for (const element of root.querySelectorAll(`[data-i18n-${attribute}]`)) {
      element.setAttribute(attribute, t(element.getAttribute(`data-i18n-${attribute}`)));
    }
  }
}

/** Switch to lang ("zh" or "en"): the page, the text the scripts wrote, <html lang>, the switch. */
export function setLanguage(lang, remember = true) {
  current = lang in STRINGS ? lang : "en";
  if (remember) { try { localStorage.setItem(STORAGE, current); } catch { /* not kept */ } }
  document.documentElement.lang = HTML_LANG[current];
  translatePage();
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === current));
  }
  for (const [element, render] of renderers) render(element);
}

/** The remembered choice, else the browser's language; wires the switch's buttons. */
export function setup() {
  const saved = stored();
  setLanguage(saved in STRINGS ? saved : browserLanguage(), false);
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
}
