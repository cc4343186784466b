// Server settings. Set baseUrl to your FaceFlow gateway (HTTPS, on the mini-program's domain
// whitelist) and apiKey to your tenant's key (`python -m gateway.tenants create my-app`).
// Both can also be changed at run time on the home page (kept in local storage).
module.exports = {
  baseUrl: "https://faceflow.example.com",
  apiKey: "",
  groupId: "wechat-users",
};
